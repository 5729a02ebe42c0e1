// RelationalOperator: the comparison operators of ${{a} op {b}} expressions.
// Guarantees: numeric comparison when both operands are all digits, byte-wise
// comparison otherwise; "level" comparisons order compatibility levels
// (major[.minor[.patch]]) numerically field by field.

enum RelationalOperator {
    case equal, notEqual, less, lessOrEqual, greaterOrEqual, greater

    /// The list stock prints when no operator is recognised (its quoting included).
    static let anyText = "\"==\" or \"!=\"\" or \"<\"\" or \"<=\"\" or \">=\"\" or \">\""

    init?(_ text: String) {
        switch text {
        case "==": self = .equal
        case "!=": self = .notEqual
        case "<": self = .less
        case "<=": self = .lessOrEqual
        case ">=": self = .greaterOrEqual
        case ">": self = .greater
        default: return nil
        }
    }

    func compare(_ left: String, _ right: String) throws -> Bool {
        if left.isAllDigits && right.isAllDigits {
            guard let l = Int(left), let r = Int(right) else {
                let bad = Int(left) == nil ? left : right
                throw MacroFailure(warning: "mac_exp_eval: bad conversion: \(bad)")
            }
            return holds(l < r ? -1 : (l == r ? 0 : 1))
        }
        let l = Array(left.utf8), r = Array(right.utf8)
        return holds(l.lexicographicallyPrecedes(r) ? -1 : (l == r ? 0 : 1))
    }

    func compareLevels(_ left: String, _ right: String) throws -> Bool {
        guard let l = CompatibilityLevel(left) else {
            throw MacroFailure(warning: "malformed compatibility level syntax: \"\(left)\"")
        }
        guard let r = CompatibilityLevel(right) else {
            throw MacroFailure(warning: "malformed compatibility level syntax: \"\(right)\"")
        }
        return holds(l < r ? -1 : (l == r ? 0 : 1))
    }

    private func holds(_ order: Int) -> Bool {
        switch self {
        case .equal: return order == 0
        case .notEqual: return order != 0
        case .less: return order < 0
        case .lessOrEqual: return order <= 0
        case .greaterOrEqual: return order >= 0
        case .greater: return order > 0
        }
    }
}

/// A compatibility_level value such as "0", "2", "3.6" or "3.6.1".
public struct CompatibilityLevel: Comparable, Sendable {
    public let major: Int
    public let minor: Int
    public let patch: Int

    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { return nil }
        var numbers: [Int] = []
        for part in parts {
            guard String(part).isAllDigits, let n = Int(part) else { return nil }
            numbers.append(n)
        }
        major = numbers[0]
        minor = numbers.count > 1 ? numbers[1] : 0
        patch = numbers.count > 2 ? numbers[2] : 0
    }

    public static func < (a: CompatibilityLevel, b: CompatibilityLevel) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }
}
