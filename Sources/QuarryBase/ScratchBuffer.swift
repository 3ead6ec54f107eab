import Foundation

/// Memory for plain values that its owner reuses from call to call: allocated once, grown only
/// when asked, freed with its owner.
///
/// An array held in a class property costs a dynamic exclusivity check at every read and write;
/// a hot loop instead takes `elements` once and reads and writes through that pointer. The
/// buffer is noncopyable, so exactly one owner frees it. New memory is zeroed.
package struct ScratchBuffer<Element: BitwiseCopyable>: ~Copyable {
    /// The buffer's memory: `capacity` elements.
    package private(set) var elements: UnsafeMutableBufferPointer<Element>

    /// Elements the memory holds.
    package var capacity: Int { elements.count }

    /// A buffer of `capacity` zeroed elements.
    package init(capacity: Int = 0) {
        elements = Self.allocateZeroed(max(0, capacity))
    }

    deinit { elements.deallocate() }

    /// Makes room for at least `minimumCapacity` elements (at least doubling when it grows),
    /// keeping the first `preserving` elements; `elements` may move.
    package mutating func reserve(_ minimumCapacity: Int, preserving: Int = 0) {
        guard minimumCapacity > capacity else { return }
        let grown = Self.allocateZeroed(max(minimumCapacity, 2 * capacity))
        let kept = min(max(0, preserving), capacity)
        if kept > 0, let source = elements.baseAddress, let target = grown.baseAddress {
            target.update(from: source, count: kept)
        }
        elements.deallocate()
        elements = grown
    }

    private static func allocateZeroed(_ count: Int) -> UnsafeMutableBufferPointer<Element> {
        let buffer = UnsafeMutableBufferPointer<Element>.allocate(capacity: count)
        if let base = buffer.baseAddress { memset(base, 0, count * MemoryLayout<Element>.stride) }
        return buffer
    }
}
