// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Quarry",
    // Linux is the platform built and tested; on macOS, PartPool's atomics (Synchronization)
    // need macOS 15.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "quarry", targets: ["QuarryCLI"]),
        .library(name: "Quarry", targets: ["Quarry"]),
        .library(name: "QuarryKernels", targets: ["CQuarryKernels"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Without the default traits: the server needs neither swift-configuration nor the
        // full-Foundation form coding.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Hummingbird's own HTTP/1 parser: the server names its errors (malformed requests are 400).
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(
            name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .target(name: "CQuarryKernels"),
        .target(name: "QuarryBase", dependencies: ["CQuarryKernels"]),
        // The stored format: every database name, key and value encoding, the byte order and the
        // schema version of a collection.
        .target(name: "QuarrySchema", dependencies: ["QuarryBase"]),
        .target(name: "QuarryIndex", dependencies: ["QuarryBase", "QuarrySchema", "CQuarryKernels", "CBLAS"]),
        .target(name: "QuarryStore", dependencies: ["QuarryBase", "CLMDB", "CZstd", "CZlib"]),
        .target(name: "QuarryEmbed", dependencies: ["QuarryBase", "CBLAS", "CQuarryKernels"]),
        .target(
            name: "Quarry", dependencies: ["QuarryBase", "QuarrySchema", "QuarryIndex", "QuarryStore", "QuarryEmbed"]),
        .target(
            name: "QuarryServer",
            dependencies: [
                "Quarry",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .executableTarget(
            name: "QuarryCLI",
            dependencies: [
                "Quarry", "QuarryServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // Fuzz targets over every reader of files, stored values and request bodies, with a
        // seeded mutation harness: `scripts/fuzz.sh TARGET N` runs one; QuarryFuzzTests runs all briefly.
        .target(
            name: "QuarryFuzz", dependencies: ["Quarry", "QuarryEmbed", "QuarryIndex", "QuarryStore", "QuarryServer"]),
        .executableTarget(name: "QuarryFuzzRunner", dependencies: ["QuarryFuzz"]),
        .executableTarget(
            name: "TokenizerBenchmark", dependencies: ["QuarryEmbed"], path: "Benchmarks/tokenizer",
            exclude: ["compare_tiktoken.py"]),
        // Child processes for the tests that run binaries and scripts, waited for off the
        // cooperative thread pool that every test target's tests share.
        .target(name: "QuarryTestSupport", path: "Tests/QuarryTestSupport"),
        .testTarget(name: "QuarryBaseTests", dependencies: ["QuarryBase"]),
        .testTarget(name: "QuarryKernelTests", dependencies: ["CQuarryKernels"]),
        .testTarget(name: "QuarryIndexTests", dependencies: ["QuarryIndex", "QuarrySchema", "QuarryBase", "CQuarryKernels"]),
        .testTarget(name: "QuarrySchemaTests", dependencies: ["QuarrySchema"]),
        .testTarget(name: "QuarryStoreTests", dependencies: ["QuarryStore", "QuarrySchema", "QuarryTestSupport"]),
        .testTarget(
            name: "QuarryEmbedTests", dependencies: ["QuarryEmbed"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "QuarryTests",
            dependencies: ["Quarry", "QuarryEmbed", "QuarryIndex", "QuarrySchema", "QuarryStore", "QuarryTestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(name: "QuarryFuzzTests", dependencies: ["QuarryFuzz"]),
        // The only test target that builds the server's dependencies.
        .testTarget(
            name: "QuarryServerTests",
            dependencies: [
                "QuarryServer", "Quarry", "QuarryEmbed", "QuarryTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
