// swift-tools-version: 6.1
import PackageDescription

let optimizedC: [CSetting] = [.unsafeFlags(["-O3"])]

let package = Package(
    name: "Quarry",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "quarry", targets: ["QuarryCLI"]),
        .library(name: "Quarry", targets: ["Quarry"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        .systemLibrary(
            name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(
            name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .target(name: "CQuarryKernels", cSettings: optimizedC),
        .target(name: "QuarryIndex", dependencies: ["CQuarryKernels", "CBLAS"]),
        .target(name: "QuarryStore", dependencies: ["CLMDB", "CZstd"]),
        .target(name: "QuarryEmbed", dependencies: ["CBLAS", "CQuarryKernels"]),
        .target(name: "Quarry", dependencies: ["QuarryIndex", "QuarryStore", "QuarryEmbed"]),
        .executableTarget(
            name: "QuarryCLI",
            dependencies: [
                "Quarry",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "TokenizerBenchmark", dependencies: ["QuarryEmbed"], path: "Benchmarks/tokenizer",
            exclude: ["compare_tiktoken.py"]),
        .testTarget(name: "QuarryKernelTests", dependencies: ["CQuarryKernels"]),
        .testTarget(name: "QuarryIndexTests", dependencies: ["QuarryIndex", "CQuarryKernels"]),
        .testTarget(name: "QuarryStoreTests", dependencies: ["QuarryStore"]),
        .testTarget(
            name: "QuarryEmbedTests", dependencies: ["QuarryEmbed"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "QuarryTests", dependencies: ["Quarry", "QuarryIndex", "QuarryStore"]),
    ],
    swiftLanguageModes: [.v6]
)
