import Proxy

/// websockify names plugins by Python class: `TokenFile`, or dotted,
/// `websockify.token_plugins.TokenFile`. Both spellings are accepted. A class of another Python
/// module (`mymod.MyPlugin`) can't be loaded here: the message says so, lists the built-in plugins
/// and, with `ownLookup`, how to plug in a lookup of one's own.
enum PluginName {
    /// The short name of `name` when it is one of `known` (in `module`), else a usage error for `option`.
    static func resolve(
        _ name: String, module: String, known: [String], option: String, ownLookup: String? = nil
    ) throws(ProxyError) -> String {
        let short = name.hasPrefix(module + ".") ? String(name.dropFirst(module.count + 1)) : name
        if short.contains("."), !known.contains(short) {
            throw .invalidPluginOption(
                "\(option)=\(name)",
                why: "a Python class from another module; plugins are built in here and no Python is loaded. "
                    + "Built in: \(known.joined(separator: ", "))" + (ownLookup.map { "; \($0)" } ?? ""))
        }
        guard known.contains(short) else {
            throw .invalidPluginOption(
                "\(option)=\(name)", why: "unknown plugin; available: \(known.joined(separator: ", "))")
        }
        return short
    }
}
