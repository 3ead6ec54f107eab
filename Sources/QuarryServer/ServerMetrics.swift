import Foundation
import Hummingbird
import Prometheus
import Quarry

/// The server's Prometheus metrics: requests and their latency per route, and the size of each
/// collection (read when scraped).
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    private static let latencyBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    private static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "quarry", metricName: "http_requests", unitName: "total",
            helpText: "HTTP requests by route, method and status.")
    }
    private static var latency: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "quarry", metricName: "http_request_duration", unitName: "seconds",
            helpText: "HTTP request latency by route and method, until the response is handed to the network.")
    }
    private static var documents: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "quarry", metricName: "collection_documents", unitName: "",
            helpText: "Documents stored in a collection.")
    }
    private static var vectors: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "quarry", metricName: "collection_vectors", unitName: "",
            helpText: "Vectors (chunks) indexed in a collection.")
    }
    private static var indexBytes: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "quarry", metricName: "collection_index", unitName: "bytes",
            helpText: "Bytes a collection's LMDB file takes on disk.")
    }
    private static var jobs: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "quarry", metricName: "jobs_in_flight", unitName: "",
            helpText: "Jobs running or queued on a worker pool.")
    }

    /// Records one answered request.
    func record(route: String, method: HTTPRequest.Method, status: HTTPResponse.Status, duration: Duration) {
        registry.makeCounter(
            descriptor: Self.requests,
            labels: [("route", route), ("method", method.rawValue), ("status", String(status.code))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.latency, labels: [("route", route), ("method", method.rawValue)],
            buckets: Self.latencyBuckets
        ).record(duration)
    }

    /// The Prometheus text exposition, after reading each collection's current size.
    func exposition(collections: [(name: String, stats: CollectionStats)], pools: [(name: String, jobs: Int)])
        -> String
    {
        for (name, stats) in collections {
            let labels = [("collection", name)]
            registry.makeGauge(descriptor: Self.documents, labels: labels).set(Double(stats.documents))
            registry.makeGauge(descriptor: Self.vectors, labels: labels).set(Double(stats.vectors))
            registry.makeGauge(descriptor: Self.indexBytes, labels: labels).set(Double(stats.bytesOnDisk))
        }
        for (name, jobs) in pools {
            registry.makeGauge(descriptor: Self.jobs, labels: [("pool", name)]).set(Double(jobs))
        }
        return registry.emitToString()
    }
}
