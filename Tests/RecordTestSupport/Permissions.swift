import Foundation

/// The permission bits of `path`.
public func permissions(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    guard let mode = attributes[.posixPermissions] as? Int else { throw TestFailure("no permission bits for \(path)") }
    return mode
}
