package org.postern.audit.testing;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads back what {@code ExportFormat.CEF} writes, by the CEF rules rather than by our writer's
 * code, so the tests of the audit export and of {@code postern audit export} check the same thing.
 */
public final class CefLines {

    private CefLines() {
    }

    /** Splits a CEF line per the spec: 7 header fields on unescaped pipes, then the extension. */
    public static List<String> header(String line) {
        List<String> fields = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        int i = 0;
        for (; i < line.length() && fields.size() < 7; i++) {
            char c = line.charAt(i);
            if (c == '\\' && i + 1 < line.length()) {
                cur.append(line.charAt(++i));
            } else if (c == '|') {
                fields.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        fields.add(line.substring(i));
        return fields;
    }

    /** key=value pairs split on unescaped {@code =}, each key the word before it; values unescaped. */
    public static Map<String, String> extension(String ext) {
        List<Integer> equals = new ArrayList<>();
        for (int i = 0; i < ext.length(); i++) {
            if (ext.charAt(i) == '\\') {
                i++;
            } else if (ext.charAt(i) == '=') {
                equals.add(i);
            }
        }
        Map<String, String> map = new LinkedHashMap<>();
        for (int k = 0; k < equals.size(); k++) {
            int eq = equals.get(k);
            int keyStart = ext.lastIndexOf(' ', eq) + 1;
            int valueEnd = k + 1 < equals.size() ? ext.lastIndexOf(' ', equals.get(k + 1)) : ext.length();
            String raw = ext.substring(eq + 1, valueEnd);
            StringBuilder v = new StringBuilder();
            for (int i = 0; i < raw.length(); i++) {
                char c = raw.charAt(i);
                if (c == '\\' && i + 1 < raw.length()) {
                    char n = raw.charAt(++i);
                    v.append(n == 'n' ? '\n' : n == 'r' ? '\r' : n);
                } else {
                    v.append(c);
                }
            }
            map.put(ext.substring(keyStart, eq), v.toString());
        }
        return map;
    }
}
