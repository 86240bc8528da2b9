/// The shortest edit script between two sequences (Myers, "An O(ND) Difference Algorithm and Its
/// Variations", 1986), over positions and an equality test, so that one missing or extra message
/// shows as one difference instead of shifting every later one.
///
/// Time is O((N+M)·D) equality tests and memory O(D²) for D edits; past `maxEdits` the middle
/// (after the common prefix and suffix) is paired position by position instead.
public struct SequenceAlignment: Sendable, Equatable {
    /// One step of the script, in order.
    public enum Step: Sendable, Equatable {
        /// Element `a` of A equals element `b` of B.
        case same(a: Int, b: Int)
        /// Element `a` of A has no counterpart in B.
        case onlyA(Int)
        /// Element `b` of B has no counterpart in A.
        case onlyB(Int)
    }

    public var steps: [Step]
    /// False when more than `maxEdits` edits were needed and the middle was paired by position.
    public var isMinimal: Bool

    /// Aligns A (`countA` elements) with B (`countB`); `equal(i, j)` tells whether A[i] matches B[j].
    public init(countA: Int, countB: Int, maxEdits: Int = 1000, equal: (Int, Int) -> Bool) {
        var prefix = 0
        while prefix < countA, prefix < countB, equal(prefix, prefix) { prefix += 1 }
        var suffix = 0
        while suffix < countA - prefix, suffix < countB - prefix, equal(countA - 1 - suffix, countB - 1 - suffix) {
            suffix += 1
        }
        let n = countA - prefix - suffix
        let m = countB - prefix - suffix
        var steps = (0..<prefix).map { Step.same(a: $0, b: $0) }
        let middle = Self.myers(n: n, m: m, maxEdits: maxEdits) { equal(prefix + $0, prefix + $1) }
        isMinimal = middle != nil
        for step in middle ?? Self.byPosition(n: n, m: m, equal: { equal(prefix + $0, prefix + $1) }) {
            switch step {
            case .same(let a, let b): steps.append(.same(a: prefix + a, b: prefix + b))
            case .onlyA(let a): steps.append(.onlyA(prefix + a))
            case .onlyB(let b): steps.append(.onlyB(prefix + b))
            }
        }
        steps += (0..<suffix).map { Step.same(a: countA - suffix + $0, b: countB - suffix + $0) }
        self.steps = steps
    }

    /// Myers' greedy forward search, keeping each round's frontier for the way back; nil past
    /// `maxEdits`.
    private static func myers(n: Int, m: Int, maxEdits: Int, equal: (Int, Int) -> Bool) -> [Step]? {
        if n == 0 || m == 0 { return (0..<n).map { Step.onlyA($0) } + (0..<m).map { Step.onlyB($0) } }
        let limit = min(n + m, maxEdits)
        // v[k + limit + 1]: the furthest x reached on diagonal k (x - y = k).
        var v = [Int](repeating: 0, count: 2 * limit + 3)
        let origin = limit + 1
        // trace[d]: v[-d-1 ... d+1] as it was at the start of round d.
        var trace: [[Int]] = []
        for d in 0...limit {
            trace.append(Array(v[(origin - d - 1)...(origin + d + 1)]))
            for k in stride(from: -d, through: d, by: 2) {
                var x =
                    k == -d || (k != d && v[origin + k - 1] < v[origin + k + 1])
                    ? v[origin + k + 1] : v[origin + k - 1] + 1
                var y = x - k
                while x < n, y < m, equal(x, y) {
                    x += 1
                    y += 1
                }
                v[origin + k] = x
                if x >= n, y >= m { return backtrack(trace, n: n, m: m) }
            }
        }
        return nil
    }

    private static func backtrack(_ trace: [[Int]], n: Int, m: Int) -> [Step] {
        var steps: [Step] = []
        var x = n
        var y = m
        for d in stride(from: trace.count - 1, to: 0, by: -1) {
            let frontier = trace[d]
            func at(_ k: Int) -> Int { frontier[k + d + 1] }
            let k = x - y
            let previousK = k == -d || (k != d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1
            let previousX = at(previousK)
            let previousY = previousX - previousK
            while x > previousX, y > previousY {
                x -= 1
                y -= 1
                steps.append(.same(a: x, b: y))
            }
            if x == previousX {
                steps.append(.onlyB(previousY))
            } else {
                steps.append(.onlyA(previousX))
            }
            x = previousX
            y = previousY
        }
        while x > 0, y > 0 {
            x -= 1
            y -= 1
            steps.append(.same(a: x, b: y))
        }
        return steps.reversed()
    }

    /// Element i of A against element i of B; the longer one's tail is on its own.
    private static func byPosition(n: Int, m: Int, equal: (Int, Int) -> Bool) -> [Step] {
        var steps: [Step] = []
        for i in 0..<min(n, m) {
            if equal(i, i) {
                steps.append(.same(a: i, b: i))
            } else {
                steps += [.onlyA(i), .onlyB(i)]
            }
        }
        steps += (min(n, m)..<n).map { Step.onlyA($0) }
        steps += (min(n, m)..<m).map { Step.onlyB($0) }
        return steps
    }
}
