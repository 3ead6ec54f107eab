// swift-tools-version: 6.1
// Throughput benchmarks of the search kernels (package-benchmark). A package of its own so that
// the root package's `swift build` and `swift test` never build the benchmark dependency.
// Run from this directory: `swift package benchmark` (or ./run.sh for the bandwidth ratios).
import PackageDescription

let package = Package(
    name: "QuarryKernelBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Quarry", path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "KernelBenchmarks",
            dependencies: [
                .product(name: "QuarryKernels", package: "Quarry"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/KernelBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ],
    swiftLanguageModes: [.v6]
)
