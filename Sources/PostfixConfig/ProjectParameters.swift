// ProjectParameters: main.cf parameters this project adds to Postfix's set.
// Guarantees: none of these names exists in stock Postfix 3.7.11, so stock
// programs ignore them; the generated stock table stays untouched.

enum ProjectParameters {
    static let defaults: [String: String] = [
        // Where master.cf commands are looked up as plugins (<command>.so).
        "plugin_directory": "$daemon_directory",
    ]
}
