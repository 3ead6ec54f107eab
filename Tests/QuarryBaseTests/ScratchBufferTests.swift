import QuarryBase
import Testing

@Suite struct ScratchBufferTests {
    @Test func startsZeroedAndKeepsThePreservedPrefixWhenItGrows() {
        var buffer = ScratchBuffer<UInt32>(capacity: 4)
        #expect(Array(buffer.elements) == [0, 0, 0, 0])
        for index in 0..<4 { buffer.elements[index] = UInt32(index + 1) }
        buffer.reserve(6, preserving: 3)
        #expect(buffer.capacity >= 8)
        #expect(Array(buffer.elements.prefix(3)) == [1, 2, 3])
        #expect(buffer.elements.dropFirst(3).allSatisfy { $0 == 0 })
    }

    @Test func doesNotMoveWhenTheCapacityIsEnough() {
        var buffer = ScratchBuffer<Int64>(capacity: 16)
        let base = buffer.elements.baseAddress
        buffer.reserve(16)
        buffer.reserve(3)
        #expect(buffer.elements.baseAddress == base)
        #expect(buffer.capacity == 16)
    }

    @Test func growsFromEmpty() {
        var buffer = ScratchBuffer<UInt16>()
        #expect(buffer.capacity == 0)
        buffer.reserve(5)
        #expect(buffer.capacity == 5)
        #expect(Array(buffer.elements) == [0, 0, 0, 0, 0])
    }
}
