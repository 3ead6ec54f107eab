@testable import QuarryIndex
import Testing

/// The message of the `FilterError` that `body` throws (always of kind invalidArgument), nil
/// when it throws none, or a note of any other error.
func filterErrorMessage(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as FilterError {
        #expect(error.kind == .invalidArgument)
        return error.message
    } catch {
        return "unexpected \(error)"
    }
}
