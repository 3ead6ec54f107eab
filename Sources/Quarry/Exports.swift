// The declarations of the lower modules that belong to the Quarry library's API, so a program
// that imports Quarry (the `quarry` CLI, the server, an embedding application) needs no other
// Quarry module. Everything else in those modules is their own business.

// Errors: the kind every `QuarryError` carries.
@_exported import enum QuarryBase.ErrorKind
// Any JSON value: crawl records' metadata and filters.
@_exported import enum QuarryBase.JSONValue
// The concurrency toolkit the server shares: the pool it runs searches and embeddings on, and
// the locked box (package access: for this package's programs, not for users).
@_exported import class QuarryBase.WorkPool
@_exported import class QuarryBase.LockedBox

// Embedding: local encoders, remote endpoints, their settings and output forms.
@_exported import protocol QuarryEmbed.TextEmbedding
@_exported import class QuarryEmbed.Embedder
@_exported import class QuarryEmbed.RemoteEmbedder
@_exported import struct QuarryEmbed.RemoteEmbedderSettings
@_exported import struct QuarryEmbed.EmbeddingProgress
@_exported import enum QuarryEmbed.EmbeddingQuantization
@_exported import enum QuarryEmbed.Pooling
@_exported import enum QuarryEmbed.WeightPrecision
@_exported import func QuarryEmbed.defaultModelName
@_exported import func QuarryEmbed.loadTokenizer
@_exported import func QuarryEmbed.modelWindow

// Vectors in and out: vector files, NPY, the INT8 quantization of float input.
@_exported import class QuarryIndex.VectorFile
@_exported import class QuarryIndex.NPYMatrix
@_exported import class QuarryIndex.NPYWriter
@_exported import enum QuarryIndex.NPYElementType
@_exported import func QuarryIndex.writeNPY
@_exported import enum QuarryIndex.Int8Quantization

// Searching and measuring: query preparation, prefilters, exact neighbours, metrics, and the
// benchmark data generator with its neighbourhood statistics.
@_exported import struct QuarryIndex.PreparedQuery
@_exported import enum QuarryIndex.Prefilter
@_exported import enum QuarryIndex.ExactNeighbors
@_exported import enum QuarryIndex.RetrievalMetrics
@_exported import struct QuarryIndex.SyntheticEmbeddings
@_exported import struct QuarryIndex.NeighbourhoodStatistics
@_exported import enum QuarryIndex.FilterExpression
@_exported import enum QuarryIndex.FilterLiteral
@_exported import struct QuarryIndex.FilterRange
@_exported import struct QuarryIndex.FilterError
@_exported import struct QuarryIndex.AttributeField
@_exported import enum QuarryIndex.AttributeKind
@_exported import enum QuarryIndex.FilterStrategy
@_exported import class QuarryIndex.SearchProfile
