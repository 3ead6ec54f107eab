import QuarryIndex

extension FilterExpression {
    /// The filter with its `site` and `host` values lowercased, as hosts are indexed.
    func normalizingHosts() -> FilterExpression {
        switch self {
        case .all, .range: self
        case .and(let parts): .and(parts.map { $0.normalizingHosts() })
        case .or(let parts): .or(parts.map { $0.normalizingHosts() })
        case .not(let part): .not(part.normalizingHosts())
        case .match(let field, let values) where field == "site" || field == "host":
            .match(
                field: field,
                values: values.map { value in
                    if case .string(let text) = value { .string(text.lowercased()) } else { value }
                })
        case .match: self
        }
    }
}
