import Foundation
import Quarry
import QuarryStore
import Testing

/// A WET record's Content-Length and a JSON line's length are bounded and checked against
/// what the file holds.
@Suite struct CrawlLimitTests {
    let temporary = TemporaryDirectory()

    private func wet(contentLength: String, body: String) -> String {
        "WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: https://a.example/\r\n"
            + "Content-Length: \(contentLength)\r\n\r\n\(body)\r\n\r\n"
    }

    private func firstError(_ text: String, name: String, maxRecordBytes: Int = InputReader.defaultMaxRecordBytes)
        throws -> String?
    {
        let path = temporary.path + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let reader = try CrawlRecordReader(path: path, maxRecordBytes: maxRecordBytes)
        do {
            while try reader.next() != nil {}
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func aHugeContentLengthIsRefusedWithoutReadingOn() throws {
        let error = try firstError(wet(contentLength: "1000000000000000", body: "page"), name: "huge.wet")
        #expect(error?.contains("Content-Length 1000000000000000 is over the limit") == true, "\(error ?? "no error")")
        // The largest Int: no arithmetic on it overflows.
        let largest = try firstError(wet(contentLength: "\(Int.max)", body: "page"), name: "max.wet")
        #expect(largest?.contains("over the limit") == true, "\(largest ?? "no error")")
        // Past Int, and negative: not a valid length.
        let past = try firstError(wet(contentLength: "99999999999999999999", body: "page"), name: "past.wet")
        #expect(past?.contains("no valid Content-Length") == true)
    }

    @Test func aContentLengthPastTheFileIsAnError() throws {
        let error = try firstError(wet(contentLength: "5000", body: "page"), name: "short.wet")
        #expect(error?.contains("ends inside the record") == true, "\(error ?? "no error")")
        #expect(try firstError(wet(contentLength: "4", body: "page"), name: "exact.wet") == nil)
    }

    @Test func aWETRecordWithAnEmptyTargetURIIsAnError() throws {
        // Found by the crawl-wet fuzz target: it became a document with an empty key.
        let text = "WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI:\r\nContent-Length: 4\r\n\r\npage\r\n\r\n"
        let error = try firstError(text, name: "empty-uri.wet")
        #expect(error?.contains("WARC-Target-URI is empty") == true, "\(error ?? "no error")")
    }

    @Test func anOverlongJSONLineNamesTheLine() throws {
        let long = #"{"id": "b", "text": ""# + String(repeating: "x", count: 5000) + "\"}"
        let text = #"{"id": "a", "text": "fine"}"# + "\n" + long + "\n"
        let error = try firstError(text, name: "long.jsonl", maxRecordBytes: 4096)
        #expect(error?.contains("line 2 is longer than the limit of 4096 bytes") == true, "\(error ?? "no error")")
        #expect(try firstError(text, name: "long.jsonl", maxRecordBytes: 8192) == nil)
    }
}
