import Foundation

/// The registrable domain of a host (its public suffix and one label more: `news.bbc.co.uk` →
/// `bbc.co.uk`), by the Public Suffix List that Debian's `publicsuffix` package installs. Where
/// that file is missing, the last two labels.
enum RegistrableDomain {
    /// Where the list is read from.
    static let listPath = "/usr/share/publicsuffix/public_suffix_list.dat"

    /// The list's rules: plain and wildcard ones (`*.ck` stored as "ck" in `wildcards`) and
    /// exceptions (`!www.ck` stored as "www.ck").
    struct Rules: Sendable {
        var plain: Set<String> = []
        var wildcards: Set<String> = []
        var exceptions: Set<String> = []
        var isEmpty: Bool { plain.isEmpty && wildcards.isEmpty }
    }

    /// The rules of the installed list, read once (empty when it is not installed).
    static let rules: Rules = {
        guard let text = try? String(contentsOfFile: listPath, encoding: .utf8) else { return Rules() }
        return parse(text)
    }()

    /// The rules of a list in the Public Suffix List's format.
    static func parse(_ text: String) -> Rules {
        var rules = Rules()
        for line in text.split(whereSeparator: \.isNewline) {
            let rule = line.split(separator: " ", maxSplits: 1).first.map(String.init)?.lowercased() ?? ""
            if rule.isEmpty || rule.hasPrefix("//") { continue }
            if rule.hasPrefix("!") {
                rules.exceptions.insert(String(rule.dropFirst()))
            } else if rule.hasPrefix("*.") {
                rules.wildcards.insert(String(rule.dropFirst(2)))
            } else {
                rules.plain.insert(rule)
            }
        }
        return rules
    }

    /// The registrable domain of `host` (lowercased); the host itself for an IP address, a
    /// single label or a public suffix.
    static func of(_ host: String, rules: Rules = rules) -> String {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        let labels = host.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard labels.count > 1, !labels.contains(where: \.isEmpty), !isIPv4(labels), !host.contains(":") else {
            return host
        }
        guard !rules.isEmpty else { return labels.suffix(2).joined(separator: ".") }
        // The longest matching rule gives the public suffix's label count; none: the last label.
        var suffixLabels = 1
        for start in 0..<labels.count {
            let candidate = labels[start...].joined(separator: ".")
            let count = labels.count - start
            if rules.exceptions.contains(candidate) {
                suffixLabels = count - 1
                break
            }
            if rules.plain.contains(candidate) {
                suffixLabels = max(suffixLabels, count)
                break
            }
            if count > 1, rules.wildcards.contains(labels[(start + 1)...].joined(separator: ".")) {
                suffixLabels = max(suffixLabels, count)
                break
            }
        }
        guard suffixLabels < labels.count else { return host }
        return labels.suffix(suffixLabels + 1).joined(separator: ".")
    }

    private static func isIPv4(_ labels: [String]) -> Bool {
        labels.count == 4 && labels.allSatisfy { UInt8($0) != nil }
    }
}
