import Foundation

/// The name a model directory is served under when none is given: the directory's own name,
/// unless that says nothing about the model (`model`, `snapshot`, a commit hash...), in which
/// case the name its config records (`_name_or_path` in `config.json`, `name_or_path` in
/// `tokenizer_config.json`) when that is a Hub id rather than a local path. A Hugging Face cache
/// snapshot (`models--ORG--NAME/snapshots/HASH`) is named `ORG/NAME`.
///
/// The directory's name comes first because a config's `_name_or_path` often names the model
/// it was fine-tuned from (all-MiniLM-L6-v2's says `nreimers/MiniLM-L6-H384-uncased`).
public func defaultModelName(directory: URL) -> String {
    let components = directory.standardizedFileURL.pathComponents
    let name = components.last ?? ""
    if components.count >= 3, components[components.count - 2] == "snapshots" {
        let repository = components[components.count - 3]
        if repository.hasPrefix("models--") {
            return repository.dropFirst("models--".count).replacingOccurrences(of: "--", with: "/")
        }
    }
    guard isGenericDirectoryName(name) else { return name }
    for (file, key) in [("config.json", "_name_or_path"), ("tokenizer_config.json", "name_or_path")] {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(file).path),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let recorded = (json[key] as? String)?.trimmingCharacters(in: .whitespaces), !recorded.isEmpty
        else { continue }
        if isLocalPath(recorded) {
            let last = URL(fileURLWithPath: recorded).lastPathComponent
            if !isGenericDirectoryName(last) { return last }
        } else {
            return recorded
        }
    }
    return name
}

private let genericDirectoryNames: Set<String> = [
    "", "/", ".", "model", "models", "snapshot", "snapshots", "checkpoint", "weights", "current", "latest", "main",
    "default", "final", "output", "export", "hf", "huggingface",
]

private func isGenericDirectoryName(_ name: String) -> Bool {
    let lowered = name.lowercased()
    if genericDirectoryNames.contains(lowered) { return true }
    // A commit hash, as Hub snapshots are named.
    return lowered.count >= 7 && lowered.allSatisfy(\.isHexDigit)
}

private func isLocalPath(_ value: String) -> Bool {
    value.hasPrefix("/") || value.hasPrefix(".") || value.hasPrefix("~") || value.contains("\\")
        || value.split(separator: "/").count > 2
}
