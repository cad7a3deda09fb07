package org.postern.agent.collect.linux;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Parses os-release(5): newline-separated {@code KEY=value} assignments, {@code #} comments,
 * values optionally in double or single quotes, and inside double quotes the shell escapes
 * {@code \"}, {@code \\}, {@code \$}, {@code \`}. No variable expansion, as the man page says.
 */
final class OsRelease {
    private OsRelease() {
    }

    static Map<String, String> parse(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String raw : text.split("\n")) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                continue;
            }
            String key = line.substring(0, eq).strip();
            if (!key.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                continue;
            }
            out.put(key, value(line.substring(eq + 1).strip()));
        }
        return out;
    }

    private static String value(String v) {
        if (v.length() >= 2 && v.charAt(0) == '\'' && v.charAt(v.length() - 1) == '\'') {
            return v.substring(1, v.length() - 1);
        }
        if (v.length() >= 2 && v.charAt(0) == '"' && v.charAt(v.length() - 1) == '"') {
            String inner = v.substring(1, v.length() - 1);
            StringBuilder b = new StringBuilder(inner.length());
            for (int i = 0; i < inner.length(); i++) {
                char c = inner.charAt(i);
                if (c == '\\' && i + 1 < inner.length() && "\"\\$`".indexOf(inner.charAt(i + 1)) >= 0) {
                    b.append(inner.charAt(++i));
                } else {
                    b.append(c);
                }
            }
            return b.toString();
        }
        return v;
    }
}
