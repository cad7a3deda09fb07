package org.postern.gateway.console;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.QueryStringDecoder;

/**
 * The fields of a query string or of an {@code application/x-www-form-urlencoded} body, bounded:
 * at most {@value #MAX_FIELDS} fields, each value trimmed and cut at {@value #MAX_VALUE} characters
 * (the policy draft may be longer: {@link #raw}).
 */
final class Form {
    static final int MAX_FIELDS = 64;
    static final int MAX_VALUE = 4096;

    private final Map<String, List<String>> fields;

    private Form(Map<String, List<String>> fields) {
        this.fields = fields;
    }

    /** The query string of {@code req}. */
    static Form query(FullHttpRequest req) {
        return new Form(new QueryStringDecoder(req.uri(), StandardCharsets.UTF_8, true, MAX_FIELDS).parameters());
    }

    /**
     * The urlencoded body of a POST.
     *
     * @throws IllegalArgumentException another content type
     */
    static Form body(FullHttpRequest req) {
        String type = req.headers().get(HttpHeaderNames.CONTENT_TYPE, "");
        if (!type.isEmpty() && !type.toLowerCase(java.util.Locale.ROOT).startsWith("application/x-www-form-urlencoded")) {
            throw new IllegalArgumentException("expected a form (application/x-www-form-urlencoded), found " + type);
        }
        String body = req.content().toString(StandardCharsets.UTF_8);
        return new Form(new QueryStringDecoder(body, StandardCharsets.UTF_8, false, MAX_FIELDS).parameters());
    }

    /** The field's first value, trimmed and bounded; empty when absent. */
    String get(String name) {
        String v = raw(name);
        v = v.strip();
        return v.length() > MAX_VALUE ? v.substring(0, MAX_VALUE) : v;
    }

    /** The field's first value as sent; empty when absent. */
    String raw(String name) {
        List<String> v = fields.get(name);
        return v == null || v.isEmpty() ? "" : v.get(0);
    }
}
