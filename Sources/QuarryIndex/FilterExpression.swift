import QuarryBase

/// A filter over documents' attribute fields, as parsed from Qdrant's JSON shape or the infix
/// form and before it is resolved against a collection's fields.
public indirect enum FilterExpression: Sendable, Equatable {
    /// The empty filter: every document.
    case all
    /// Every part holds.
    case and([FilterExpression])
    /// At least one part holds.
    case or([FilterExpression])
    /// The part does not hold (a document without the field of a condition matches its NOT).
    case not(FilterExpression)
    /// The field holds any of `values`.
    case match(field: String, values: [FilterLiteral])
    /// The field's number or date lies in the range.
    case range(field: String, FilterRange)

    /// The conjunction of `parts`, nested ANDs flattened and `.all` parts dropped.
    static func conjunction(_ parts: [FilterExpression]) -> FilterExpression {
        var flat: [FilterExpression] = []
        for part in parts {
            switch part {
            case .all: continue
            case .and(let inner): flat.append(contentsOf: inner)
            default: flat.append(part)
            }
        }
        return flat.count == 1 ? flat[0] : flat.isEmpty ? .all : .and(flat)
    }

    /// The disjunction of one or more `parts`, nested ORs flattened.
    static func disjunction(_ parts: [FilterExpression]) -> FilterExpression {
        var flat: [FilterExpression] = []
        for part in parts {
            if case .or(let inner) = part { flat.append(contentsOf: inner) } else { flat.append(part) }
        }
        return flat.count == 1 ? flat[0] : .or(flat)
    }
}

/// A value a condition compares with.
public enum FilterLiteral: Sendable, Equatable {
    case string(String), number(Double), bool(Bool)
}

/// The bounds of a range condition; a nil bound is open.
public struct FilterRange: Sendable, Equatable {
    public var lower: FilterLiteral?
    public var upper: FilterLiteral?
    public var lowerInclusive: Bool
    public var upperInclusive: Bool

    public init(
        lower: FilterLiteral? = nil, lowerInclusive: Bool = true, upper: FilterLiteral? = nil,
        upperInclusive: Bool = true
    ) {
        self.lower = lower
        self.upper = upper
        self.lowerInclusive = lowerInclusive
        self.upperInclusive = upperInclusive
    }
}

/// The bounds every parsed filter stays within.
public enum FilterLimits {
    /// Nested filters or parentheses, at most.
    public static let maximumDepth = 32
    /// Match and range conditions in one filter, at most.
    public static let maximumConditions = 1_024
    /// Values in one `any`, `except` or `IN`, at most.
    public static let maximumValues = 1_024
    /// Bytes in a field name, at most.
    public static let maximumKeyBytes = 256
}

/// A filter that cannot be parsed or does not fit the collection's fields; the message says
/// where and what.
public struct FilterError: ClassifiedError, Equatable {
    public var message: String

    public init(_ message: String) { self.message = message }

    /// A malformed filter is bad input.
    public var kind: ErrorKind { .invalidArgument }
    public var description: String { message }
}
