/// Columns of text padded to their widest cell.
struct TextTable {
    enum Alignment { case left, right }
    private let columns: [(title: String, alignment: Alignment)]
    private var rows: [[String]] = []

    init(columns: [(String, Alignment)]) { self.columns = columns.map { (title: $0.0, alignment: $0.1) } }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render() -> [String] {
        let all = [columns.map(\.title)] + rows
        let widths = columns.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            var line = ""
            for (column, cell) in row.enumerated() {
                let fill = String(repeating: " ", count: widths[column] - cell.count)
                if column > 0 { line += "  " }
                line += columns[column].alignment == .left ? cell + fill : fill + cell
            }
            while line.last == " " { line.removeLast() }
            return line
        }
    }
}
