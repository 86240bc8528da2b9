import Proxy

/// websockify names plugins by Python class: `TokenFile`, or dotted,
/// `websockify.token_plugins.TokenFile`. Both spellings are accepted.
enum PluginName {
    /// The short name of `name` when it is one of `known` (in `module`), else a usage error for `option`.
    static func resolve(_ name: String, module: String, known: [String], option: String) throws(ProxyError) -> String {
        let short = name.hasPrefix(module + ".") ? String(name.dropFirst(module.count + 1)) : name
        guard known.contains(short) else {
            throw .invalidPluginOption(
                "\(option)=\(name)", why: "unknown plugin; available: \(known.joined(separator: ", "))")
        }
        return short
    }
}
