import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Errors raised while reading model files.
public enum ModelLoadingError: Error, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case malformedHeader(path: String, reason: String)
    case unsupportedDType(tensor: String, dtype: String)
    case missingTensor(name: String, directory: String)
    case shapeMismatch(tensor: String, expected: [Int], found: [Int])
    case invalidConfig(path: String, reason: String)
    case unsupportedModel(String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "cannot open \(path): \(reason)"
        case .malformedHeader(let path, let reason): "malformed safetensors file \(path): \(reason)"
        case .unsupportedDType(let tensor, let dtype):
            "tensor \(tensor) has dtype \(dtype); supported: F32, F16, BF16"
        case .missingTensor(let name, let directory): "tensor \(name) not found in \(directory)"
        case .shapeMismatch(let tensor, let expected, let found):
            "tensor \(tensor) has shape \(found), expected \(expected)"
        case .invalidConfig(let path, let reason): "invalid model configuration \(path): \(reason)"
        case .unsupportedModel(let reason): "unsupported model: \(reason)"
        }
    }
}

/// Element types a safetensors tensor may have (all converted to F32 for compute).
enum TensorDType: String {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"

    var byteCount: Int { self == .f32 ? 4 : 2 }
}

/// A read-only F32 tensor: a view into a mapped F32 file, or converted storage it owns.
struct Tensor: @unchecked Sendable {  // immutable after creation; `owner` keeps `values` alive
    let values: UnsafePointer<Float>
    let shape: [Int]
    private let owner: AnyObject

    init(values: UnsafePointer<Float>, shape: [Int], owner: AnyObject) {
        self.values = values
        self.shape = shape
        self.owner = owner
    }

    var count: Int { shape.reduce(1, *) }
}

/// Heap storage for converted tensors.
final class FloatStorage {
    let pointer: UnsafeMutablePointer<Float>

    init(count: Int) {
        pointer = .allocate(capacity: max(count, 1))
    }

    deinit { pointer.deallocate() }
}

/// One `.safetensors` file mapped read-only into memory.
final class SafeTensorsFile: @unchecked Sendable {  // the mapping is never written
    struct Entry {
        let dtypeName: String
        /// nil for dtypes the encoders never need (such as BERT's I64 `position_ids`).
        let dtype: TensorDType?
        let shape: [Int]
        let byteOffset: Int  // from the start of the file
    }

    let path: String
    let entries: [String: Entry]
    private let base: UnsafeRawPointer
    private let mappedLength: Int

    init(path: String) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw ModelLoadingError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw ModelLoadingError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        let fileSize = Int(info.st_size)
        guard fileSize >= 8 else {
            throw ModelLoadingError.malformedHeader(path: path, reason: "file shorter than 8 bytes")
        }
        guard let mapping = mmap(nil, fileSize, PROT_READ, MAP_PRIVATE, descriptor, 0),
            mapping != MAP_FAILED
        else {
            throw ModelLoadingError.cannotOpen(
                path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapping)
        mappedLength = fileSize
        do {
            entries = try Self.parseHeader(base: base, fileSize: fileSize, path: path)
        } catch {
            munmap(mapping, fileSize)
            throw error
        }
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), mappedLength) }

    /// The largest header accepted (the safetensors format's own limit is 100 MB).
    static let maxHeaderBytes = 100_000_000

    /// The product of `shape`, or nil when it overflows `Int`.
    private static func checkedProduct(_ shape: [Int]) -> Int? {
        var product = 1
        for dimension in shape {
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            product = next
        }
        return product
    }

    private static func parseHeader(base: UnsafeRawPointer, fileSize: Int, path: String) throws
        -> [String: Entry]
    {
        func fail(_ reason: String) -> ModelLoadingError {
            .malformedHeader(path: path, reason: reason)
        }
        let declaredLength = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard declaredLength > 0, declaredLength <= UInt64(fileSize - 8) else {
            throw fail("header length \(declaredLength) does not fit in a file of \(fileSize) bytes")
        }
        guard declaredLength <= UInt64(maxHeaderBytes) else {
            throw fail("header length \(declaredLength) is over the limit of \(maxHeaderBytes) bytes")
        }
        let headerLength = Int(declaredLength)
        let headerBytes = Data(bytes: base + 8, count: headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: headerBytes) as? [String: Any]
        else { throw fail("header is not a JSON object") }
        let dataStart = 8 + headerLength
        let dataLength = fileSize - dataStart
        var entries: [String: Entry] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let fields = value as? [String: Any],
                let dtypeName = fields["dtype"] as? String,
                let shape = fields["shape"] as? [Int],
                let offsets = fields["data_offsets"] as? [Int], offsets.count == 2
            else { throw fail("entry \(name) lacks dtype, shape or data_offsets") }
            let dtype = TensorDType(rawValue: dtypeName)
            guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("entry \(name) has a negative dimension") }
            let (start, end) = (offsets[0], offsets[1])
            guard start >= 0, end >= start, end <= dataLength else {
                throw fail("entry \(name) spans bytes \(start)..<\(end) outside the \(dataLength)-byte data section")
            }
            // Checked before any product, so no shape overflows: a shape's product times the
            // element size must equal the span, which lies within the file.
            guard let elements = checkedProduct(shape) else {
                throw fail("entry \(name) has a shape \(shape) too large to address")
            }
            if let dtype {
                let (needed, overflow) = elements.multipliedReportingOverflow(by: dtype.byteCount)
                guard !overflow, end - start == needed else {
                    throw fail(
                        "entry \(name) holds \(end - start) bytes, its shape \(shape) needs \(overflow ? "more than Int.max" : "\(needed)")"
                    )
                }
            }
            entries[name] = Entry(dtypeName: dtypeName, dtype: dtype, shape: shape, byteOffset: dataStart + start)
        }
        return entries
    }

    /// The tensor `name` as F32: the mapped bytes themselves when they are aligned F32,
    /// otherwise a converted copy.
    func tensor(_ name: String) throws -> Tensor? {
        guard let entry = entries[name] else { return nil }
        guard let dtype = entry.dtype else {
            throw ModelLoadingError.unsupportedDType(tensor: name, dtype: entry.dtypeName)
        }
        let count = entry.shape.reduce(1, *)
        let source = base + entry.byteOffset
        if dtype == .f32, Int(bitPattern: source) % MemoryLayout<Float>.alignment == 0 {
            return Tensor(values: source.assumingMemoryBound(to: Float.self), shape: entry.shape, owner: self)
        }
        let storage = FloatStorage(count: count)
        let output = storage.pointer
        switch dtype {
        case .f32:
            for i in 0..<count { output[i] = source.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
        case .bf16:
            for i in 0..<count {
                let bits = UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                output[i] = Float(bitPattern: bits << 16)
            }
        case .f16:
            for i in 0..<count {
                let bits = source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                output[i] = Self.floatFromHalf(bits)
            }
        }
        return Tensor(values: UnsafePointer(output), shape: entry.shape, owner: storage)
    }

    /// IEEE 754 binary16 to binary32, subnormals, infinities and NaN included.
    static func floatFromHalf(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = Int(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        if exponent == 0 {
            let magnitude = Float(mantissa) * 0x1p-24  // exact: subnormal halves are multiples of 2^-24
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | (UInt32(exponent + 112) << 23) | (mantissa << 13))
    }
}

/// The tensors of a model directory: `model.safetensors`, or the shards that
/// `model.safetensors.index.json` names. Lookups accept names with or without a
/// common prefix such as `model.` (Qwen) or `bert.` (BERT).
final class TensorStore: Sendable {
    let directory: String
    private let files: [SafeTensorsFile]
    private let fileForTensor: [String: Int]
    private let prefix: String

    /// Opens the checkpoint in `directory`; `probe` is a tensor name (without prefix) every
    /// checkpoint of this architecture has, used to detect the prefix.
    init(directory: URL, probe: String, prefixes: [String]) throws {
        self.directory = directory.path
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        var files: [SafeTensorsFile] = []
        var fileForTensor: [String: Int] = [:]
        if FileManager.default.fileExists(atPath: index.path) {
            guard let data = FileManager.default.contents(atPath: index.path),
                let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let weightMap = json["weight_map"] as? [String: String]
            else {
                throw ModelLoadingError.malformedHeader(path: index.path, reason: "no weight_map object")
            }
            var fileNumbers: [String: Int] = [:]
            for shard in Set(weightMap.values).sorted() {
                // A shard is a file beside the index, never a path elsewhere.
                guard !shard.isEmpty, !shard.contains("/"), shard != "..", shard != "." else {
                    throw ModelLoadingError.malformedHeader(
                        path: index.path, reason: "shard name \(shard.debugDescription) is not a file name")
                }
                fileNumbers[shard] = files.count
                files.append(try SafeTensorsFile(path: directory.appendingPathComponent(shard).path))
            }
            for (tensor, shard) in weightMap {
                let number = fileNumbers[shard]!
                guard files[number].entries[tensor] != nil else {
                    throw ModelLoadingError.missingTensor(name: tensor, directory: "\(shard) (listed in the index)")
                }
                fileForTensor[tensor] = number
            }
        } else {
            let single = directory.appendingPathComponent("model.safetensors")
            guard FileManager.default.fileExists(atPath: single.path) else {
                throw ModelLoadingError.cannotOpen(
                    path: directory.path, reason: "neither model.safetensors nor model.safetensors.index.json exists")
            }
            files = [try SafeTensorsFile(path: single.path)]
            for name in files[0].entries.keys { fileForTensor[name] = 0 }
        }
        guard let prefix = prefixes.first(where: { fileForTensor[$0 + probe] != nil }) else {
            throw ModelLoadingError.missingTensor(
                name: prefixes.map { $0 + probe }.joined(separator: " or "), directory: directory.path)
        }
        self.files = files
        self.fileForTensor = fileForTensor
        self.prefix = prefix
    }

    func contains(_ name: String) -> Bool { fileForTensor[prefix + name] != nil }

    /// The tensor `name` (without prefix) as F32, checked against `shape`.
    func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        let fullName = prefix + name
        guard let number = fileForTensor[fullName], let tensor = try files[number].tensor(fullName) else {
            throw ModelLoadingError.missingTensor(name: fullName, directory: directory)
        }
        guard tensor.shape == shape else {
            throw ModelLoadingError.shapeMismatch(tensor: fullName, expected: shape, found: tensor.shape)
        }
        return tensor
    }

    /// The first of `names` present (for checkpoints that spell a tensor two ways).
    func tensor(anyOf names: [String], shape: [Int]) throws -> Tensor {
        let name = names.first(where: contains) ?? names[0]
        return try tensor(name, shape: shape)
    }
}
