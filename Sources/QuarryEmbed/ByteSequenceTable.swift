import Foundation

/// An immutable hash table from byte sequences to token ids, looked up with borrowed bytes so
/// that the encoding hot path never allocates a key.
///
/// Open addressing with linear probing; all keys live in one contiguous byte arena.
struct ByteSequenceTable: Sendable {
    private struct Slot: Sendable {
        var keyOffset: UInt32
        var keyLength: UInt32
        var value: Int32
        var hash: UInt32
    }

    private let keyArena: [UInt8]
    private let slots: [Slot]
    private let mask: Int
    /// Number of keys stored.
    let count: Int

    private static let emptyLength = UInt32.max

    /// Builds the table; when a key appears more than once, the last value wins.
    init(_ entries: [(key: [UInt8], value: Int32)]) {
        var capacity = 16
        while capacity < entries.count * 2 { capacity *= 2 }
        let mask = capacity - 1
        var arena: [UInt8] = []
        arena.reserveCapacity(entries.reduce(0) { $0 + $1.key.count })
        var slots = [Slot](
            repeating: Slot(keyOffset: 0, keyLength: Self.emptyLength, value: 0, hash: 0),
            count: capacity)
        var count = 0
        for (key, value) in entries {
            let hash = key.withUnsafeBufferPointer { Self.hash($0) }
            var index = Int(hash) & mask
            while true {
                let slot = slots[index]
                if slot.keyLength == Self.emptyLength {
                    slots[index] = Slot(
                        keyOffset: UInt32(arena.count), keyLength: UInt32(key.count),
                        value: value, hash: hash)
                    arena.append(contentsOf: key)
                    count += 1
                    break
                }
                if slot.hash == hash && slot.keyLength == key.count
                    && arena[Int(slot.keyOffset)..<Int(slot.keyOffset) + key.count].elementsEqual(key)
                {
                    slots[index].value = value
                    break
                }
                index = (index + 1) & mask
            }
        }
        self.keyArena = arena
        self.slots = slots
        self.mask = mask
        self.count = count
    }

    /// The value stored for exactly these bytes, if any.
    func value(for key: UnsafeBufferPointer<UInt8>) -> Int32? {
        let hash = Self.hash(key)
        return slots.withUnsafeBufferPointer { slots in
            keyArena.withUnsafeBufferPointer { arena in
                var index = Int(hash) & mask
                while true {
                    let slot = slots[index]
                    if slot.keyLength == Self.emptyLength { return nil }
                    if slot.hash == hash && Int(slot.keyLength) == key.count
                        && (key.count == 0
                            || memcmp(arena.baseAddress! + Int(slot.keyOffset), key.baseAddress!, key.count) == 0)
                    {
                        return slot.value
                    }
                    index = (index + 1) & mask
                }
            }
        }
    }

    /// FNV-1a, folded to 32 bits; keys are short (tokens and words).
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return UInt32(truncatingIfNeeded: hash ^ (hash >> 32))
    }
}
