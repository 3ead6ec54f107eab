extension FuzzTarget {
    /// Every target, in the order the long runs go through them.
    public static let all: [FuzzTarget] =
        vectorFileTargets + modelFileTargets + crawlTargets + storedValueTargets + httpTargets + filterTargets

    /// The target called `name`.
    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}
