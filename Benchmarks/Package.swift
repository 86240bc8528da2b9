// swift-tools-version:6.2
import PackageDescription

// Benchmarks live apart from the tests: they print figures, they do not assert.
let package = Package(
    name: "websockify-benchmarks",
    dependencies: [
        .package(name: "websockify-swift", path: "..")
    ],
    targets: [
        .executableTarget(
            name: "RecordBench",
            dependencies: [.product(name: "RecordFormat", package: "websockify-swift")]
        )
    ]
)
