import ArgumentParser

@main
struct QuarryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarry", abstract: "Quarry: a vector index and search engine.")
}
