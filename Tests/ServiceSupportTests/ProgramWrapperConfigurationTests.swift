import ServiceSupport
import Testing

@Suite("Wrapping: environment, library search, exit status")
struct ProgramWrapperConfigurationTests {
    @Test("the library goes first in LD_PRELOAD, once; both ports are set")
    func environment() {
        let wrap = ProgramWrapperConfiguration(
            command: ["p"], listenPort: 5901, rebindPort: 40001, libraryPath: "/lib/librebind.so")
        let fresh = wrap.environment(base: ["PATH": "/bin"])
        #expect(fresh["LD_PRELOAD"] == "/lib/librebind.so")
        #expect(fresh["REBIND_OLD_PORT"] == "5901" && fresh["REBIND_NEW_PORT"] == "40001" && fresh["PATH"] == "/bin")
        let existing = wrap.environment(base: ["LD_PRELOAD": "/x/a.so /lib/librebind.so:/x/b.so"])
        #expect(existing["LD_PRELOAD"] == "/lib/librebind.so:/x/a.so:/x/b.so")
    }

    @Test("librebind.so is looked for beside the executable, then in the install prefix's lib")
    func search() throws {
        #expect(
            RebindLibrary.candidates(executablePath: "/opt/ws/bin/websockify") == [
                "/opt/ws/bin/librebind.so", "/opt/ws/bin/../lib/websockify/librebind.so", "/opt/ws/bin/../lib/librebind.so",
            ])
        let found = try RebindLibrary.locate(
            executablePath: "/opt/ws/bin/websockify", environment: [:],
            isReadable: { $0 == "/opt/ws/bin/../lib/websockify/librebind.so" })
        #expect(found.hasSuffix("lib/websockify/librebind.so"))
        let overridden = try RebindLibrary.locate(
            executablePath: "/opt/ws/bin/websockify", environment: [RebindLibrary.overrideVariable: "/custom/r.so"],
            isReadable: { $0 == "/custom/r.so" })
        #expect(overridden == "/custom/r.so")
        #expect(throws: OperationsError.self) {
            try RebindLibrary.locate(executablePath: "/opt/ws/bin/websockify", environment: [:], isReadable: { _ in false })
        }
        #expect(throws: OperationsError.self) {
            try RebindLibrary.locate(
                executablePath: "/opt/ws/bin/websockify", environment: [RebindLibrary.overrideVariable: "/missing.so"],
                isReadable: { _ in true == false })
        }
    }

    @Test("waitpid statuses: exit codes and signals, and what a shell would report")
    func exitStatus() {
        #expect(ExitStatus(waitStatus: 7 << 8) == ExitStatus(code: 7))
        #expect(ExitStatus(waitStatus: 7 << 8).shellCode == 7)
        #expect(ExitStatus(waitStatus: 9) == ExitStatus(signal: 9))
        #expect(ExitStatus(waitStatus: 9).shellCode == 137)
        #expect(ExitStatus(waitStatus: 0).description == "exit status 0")
        #expect(ExitStatus(signal: 15).description.hasPrefix("killed by signal 15"))
    }
}
