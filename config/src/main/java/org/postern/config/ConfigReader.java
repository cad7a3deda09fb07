package org.postern.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Reads typed settings from one section of a YAML file and collects every problem instead of
 * stopping at the first, so a file with three mistakes is reported with three lines.
 *
 * <p>A binder is plain code that asks for each key with its type and default and builds a
 * record from the answers:
 *
 * <pre>{@code
 * Enrollment e = reader.section("enrollment", r -> new Enrollment(
 *         r.duration("tokenTtl", Duration.ofHours(24), Duration.ofMinutes(1), Duration.ofDays(30)),
 *         r.size("maxRequestSize", DataSize.ofKiB(64), DataSize.ofKiB(1), DataSize.ofMiB(1))));
 * }</pre>
 *
 * <p>When a value is wrong the reader records the problem and returns the default (or null),
 * so the binder carries on and later mistakes are found too; {@link #load} throws one
 * {@link ConfigException} at the end. Keys a section's binder never asked for are reported as
 * unknown, listing the keys it did ask for, which catches typos such as {@code tokenTTL}.
 * Explicit {@code null} (or an empty value) counts as absent.
 *
 * <p>Explicit code rather than reflection-based binding keeps the all-problems-together behaviour,
 * the messages, and the defaults in one readable place.
 */
public final class ConfigReader {

    private static final ObjectMapper YAML = new ObjectMapper(YAMLFactory.builder()
            // YAML 1.2 booleans only: "name: no" is the text "no", not false (the Norway problem).
            .enable(YAMLParser.Feature.PARSE_BOOLEAN_LIKE_WORDS_AS_STRINGS)
            // "key:" with no value is null, so it means "use the default" like an absent key.
            .enable(YAMLParser.Feature.EMPTY_STRING_AS_NULL)
            .build())
            // Two values for one key would otherwise let the last one win silently.
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            // A second document after "---" would otherwise be ignored without a word.
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            // Keep "14.10" as written when it is read as text (a version), not as the double 14.1.
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .setNodeFactory(com.fasterxml.jackson.databind.node.JsonNodeFactory.withExactBigDecimals(true));

    /** The file being read and the problems found in it so far; shared by all sections. */
    private record Document(String name, Path baseDir, List<String> problems) {
    }

    private final Document doc;
    private final String path;
    private final ObjectNode node;
    private final Set<String> asked = new LinkedHashSet<>();

    private ConfigReader(Document doc, String path, ObjectNode node) {
        this.doc = doc;
        this.path = path;
        this.node = node;
    }

    /**
     * Reads {@code file} and binds it. Problems name the file as given; relative paths inside
     * it are resolved against its directory.
     *
     * @throws ConfigException listing every problem found
     */
    public static <T> T load(Path file, Function<ConfigReader, T> binder) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(List.of(file + ": expected a configuration file, found none"));
        } catch (CharacterCodingException e) {
            throw new ConfigException(List.of(file + ": expected UTF-8 text, found bytes that are not UTF-8"));
        } catch (IOException e) {
            throw new ConfigException(List.of(file + ": expected a readable file, found " + e));
        }
        Path dir = file.toAbsolutePath().getParent();
        return parse(text, file.toString(), dir, binder);
    }

    /**
     * Binds YAML {@code text}, naming it {@code name} in problems and resolving relative paths
     * against {@code baseDir}. An empty document binds as an empty map, so every default applies.
     *
     * @throws ConfigException listing every problem found
     */
    public static <T> T parse(String text, String name, Path baseDir, Function<ConfigReader, T> binder) {
        Objects.requireNonNull(binder, "binder");
        JsonNode root;
        try {
            root = YAML.readTree(text);
        } catch (JsonProcessingException e) {
            throw new ConfigException(List.of(syntaxProblem(name, e)));
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            root = JsonNodeFactory.instance.objectNode();
        } else if (!root.isObject()) {
            throw new ConfigException(List.of(name + ": expected a map of settings at the top level, found "
                    + Found.describe(root)));
        }
        Document doc = new Document(name, baseDir, new ArrayList<>());
        T result = new ConfigReader(doc, "", (ObjectNode) root).bind(binder, true);
        if (!doc.problems.isEmpty()) {
            throw new ConfigException(doc.problems);
        }
        return result;
    }

    // ---- scalars ---------------------------------------------------------------------------

    /**
     * A setting parsed from a scalar by {@code parser}; the general form behind the typed
     * methods, for value types this class does not know. {@code parser} signals a bad value by
     * throwing {@link InvalidValueException}; {@code expected} is used when the node is not a
     * scalar at all (a map or a list).
     *
     * @return the parsed value, or {@code defaultValue} when absent or wrong
     */
    public <T extends @Nullable Object> T value(String key, T defaultValue, String expected,
            Function<String, ? extends T> parser) {
        JsonNode v = take(key);
        if (v == null) {
            return defaultValue;
        }
        if (!v.isValueNode()) {
            report(key, "expected " + expected + ", found " + Found.describe(v));
            return defaultValue;
        }
        try {
            return parser.apply(v.asText());
        } catch (InvalidValueException e) {
            report(key, "expected " + e.expected() + ", found " + Found.describe(v));
            return defaultValue;
        }
    }

    /** A string; numbers and booleans are taken as written. Null default makes it optional. */
    public @Nullable String string(String key, @Nullable String defaultValue) {
        return value(key, defaultValue, "a string", s -> s);
    }

    /** A string of {@code minLength} to {@code maxLength} characters. */
    public String string(String key, String defaultValue, int minLength, int maxLength) {
        String expected = minLength == maxLength ? "a string of " + minLength + " characters"
                : "a string of " + minLength + " to " + maxLength + " characters";
        return value(key, defaultValue, expected, s -> {
            if (s.length() < minLength || s.length() > maxLength) {
                throw new InvalidValueException(expected, s);
            }
            return s;
        });
    }

    /** {@code true} or {@code false}; YAML 1.1 words such as {@code yes} and quoted text are rejected. */
    public boolean bool(String key, boolean defaultValue) {
        JsonNode v = take(key);
        if (v == null) {
            return defaultValue;
        }
        if (!v.isBoolean()) {
            report(key, "expected true or false, found " + Found.describe(v));
            return defaultValue;
        }
        return v.booleanValue();
    }

    /** A whole number between {@code min} and {@code max}, both included. */
    public int integer(String key, int defaultValue, int min, int max) {
        JsonNode v = take(key);
        if (v == null) {
            return defaultValue;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < min || v.intValue() > max) {
            report(key, "expected an integer between " + min + " and " + max + ", found " + Found.describe(v));
            return defaultValue;
        }
        return v.intValue();
    }

    /** A duration such as {@code 10m} (see {@link Durations}); null default makes it optional. */
    public @Nullable Duration duration(String key, @Nullable Duration defaultValue) {
        return value(key, defaultValue, Durations.EXPECTED, Durations::parse);
    }

    /** A duration between {@code min} and {@code max}, both included. */
    public Duration duration(String key, Duration defaultValue, Duration min, Duration max) {
        String expected = "a duration between " + Durations.format(min) + " and " + Durations.format(max);
        return value(key, defaultValue, Durations.EXPECTED, s -> {
            Duration d = Durations.parse(s);
            if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
                throw new InvalidValueException(expected, s);
            }
            return d;
        });
    }

    /** A size such as {@code 64KiB} (see {@link DataSize}); null default makes it optional. */
    public @Nullable DataSize size(String key, @Nullable DataSize defaultValue) {
        return value(key, defaultValue, DataSize.EXPECTED, DataSize::parse);
    }

    /** A size between {@code min} and {@code max}, both included. */
    public DataSize size(String key, DataSize defaultValue, DataSize min, DataSize max) {
        String expected = "a size between " + min + " and " + max;
        return value(key, defaultValue, DataSize.EXPECTED, s -> {
            DataSize d = DataSize.parse(s);
            if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
                throw new InvalidValueException(expected, s);
            }
            return d;
        });
    }

    /** A {@code host:port} such as {@code 127.0.0.1:8443} or {@code [::1]:8443}. */
    public HostPort hostPort(String key, HostPort defaultValue) {
        return value(key, defaultValue, HostPort.EXPECTED, HostPort::parse);
    }

    /** An absolute URI of any scheme, or null when absent. */
    public @Nullable URI uri(String key) {
        String expected = "an absolute URI like https://pki.example.org/pki/crl";
        return value(key, null, expected, s -> {
            try {
                URI u = new URI(s);
                if (!u.isAbsolute()) {
                    throw new InvalidValueException(expected, s);
                }
                return u;
            } catch (URISyntaxException e) {
                throw new InvalidValueException(expected, s);
            }
        });
    }

    /** An absolute {@code http} or {@code https} URL with a host, or null when absent. */
    public @Nullable URI httpUri(String key) {
        String expected = "an absolute http or https URL like https://pki.example.org/pki/crl";
        return value(key, null, expected, s -> {
            try {
                URI u = new URI(s);
                String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
                if (!(scheme.equals("http") || scheme.equals("https")) || u.getHost() == null) {
                    throw new InvalidValueException(expected, s);
                }
                return u;
            } catch (URISyntaxException e) {
                throw new InvalidValueException(expected, s);
            }
        });
    }

    /**
     * A file system path, resolved against the directory of the file being read when relative,
     * or null when absent. Whether it exists is left to the code that opens it.
     */
    public @Nullable Path path(String key) {
        return value(key, null, "a file path", this::resolve);
    }

    /** A path as {@link #path(String)}, with a default that is resolved the same way. */
    public @Nullable Path path(String key, @Nullable String defaultValue) {
        Path p = path(key);
        return p != null || defaultValue == null ? p : resolve(defaultValue);
    }

    /**
     * One of the constants of {@code type}, written in lower case with dashes for underscores:
     * {@code REPORT_ONLY} is {@code report-only}.
     */
    public <E extends Enum<E>> E choice(String key, Class<E> type, E defaultValue) {
        E[] constants = type.getEnumConstants();
        String expected = "one of " + Arrays.stream(constants).map(ConfigReader::spelling)
                .collect(Collectors.joining(", "));
        return value(key, defaultValue, expected, s -> {
            for (E c : constants) {
                if (spelling(c).equals(s)) {
                    return c;
                }
            }
            throw new InvalidValueException(expected, s);
        });
    }

    // ---- lists and sections ----------------------------------------------------------------

    /** A list of strings; problems with an element name it as {@code key[index]}. */
    public List<String> stringList(String key, List<String> defaultValue) {
        JsonNode v = take(key);
        if (v == null) {
            return defaultValue;
        }
        if (!v.isArray()) {
            report(key, "expected a list of strings, found " + Found.describe(v));
            return defaultValue;
        }
        List<String> out = new ArrayList<>(v.size());
        boolean ok = true;
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            if (!e.isValueNode() || e.isNull()) {
                report(key + "[" + i + "]", "expected a string, found " + Found.describe(e));
                ok = false;
            } else {
                out.add(e.asText());
            }
        }
        return ok ? List.copyOf(out) : defaultValue;
    }

    /**
     * A nested map bound by {@code binder}. An absent section is bound as an empty map, so the
     * binder's defaults apply; a section that is not a map is a problem, and the defaults are
     * returned to let reading go on.
     */
    public <T extends @Nullable Object> @Nullable T section(String key, Function<ConfigReader, T> binder) {
        JsonNode v = take(key);
        String childPath = qualify(key);
        if (v == null) {
            return new ConfigReader(doc, childPath, JsonNodeFactory.instance.objectNode()).bind(binder, true);
        }
        if (!v.isObject()) {
            report(key, "expected a map, found " + Found.describe(v));
            return new ConfigReader(doc, childPath, JsonNodeFactory.instance.objectNode()).bind(binder, false);
        }
        return new ConfigReader(doc, childPath, (ObjectNode) v).bind(binder, true);
    }

    /**
     * A list of maps, each bound by {@code binder}; absent is an empty list. Problems inside an
     * element name it as {@code key[index].field}. Elements that are not maps are reported and
     * left out.
     */
    public <T> List<T> list(String key, Function<ConfigReader, T> binder) {
        JsonNode v = take(key);
        if (v == null) {
            return List.of();
        }
        if (!v.isArray()) {
            report(key, "expected a list, found " + Found.describe(v));
            return List.of();
        }
        List<T> out = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            String elementKey = key + "[" + i + "]";
            if (!e.isObject()) {
                report(elementKey, "expected a map, found " + Found.describe(e));
                continue;
            }
            T t = new ConfigReader(doc, qualify(elementKey), (ObjectNode) e).bind(binder, true);
            if (t != null) {
                out.add(t);
            }
        }
        return out;
    }

    // ---- for binders -----------------------------------------------------------------------

    /** The number of elements of the list at {@code key}; -1 when absent or not a list. */
    public int listSize(String key) {
        JsonNode v = take(key);
        return v != null && v.isArray() ? v.size() : -1;
    }

    /** Whether {@code key} is set (not absent, not null); counts as asking for it. */
    public boolean has(String key) {
        return take(key) != null;
    }

    /**
     * Whether {@code key} is written with no value ({@code key:} alone, or {@code null}), which
     * {@link #has} counts as absent; for sections where "present but empty" must not mean "off".
     */
    public boolean isNull(String key) {
        JsonNode v = node.get(key);
        return v != null && v.isNull();
    }

    /**
     * Records a problem at {@code key} of this section (or at the section itself when
     * {@code key} is null), for checks that span several settings. {@code message} should read
     * {@code expected …, found …}.
     */
    public void report(@Nullable String key, String message) {
        String where = key == null ? path : qualify(key);
        doc.problems.add(doc.name + ": " + (where.isEmpty() ? "" : where + ": ") + message);
    }

    /** The dotted path of this section ({@code server.tls}); empty at the top level. */
    public String sectionPath() {
        return path;
    }

    // ---- internals -------------------------------------------------------------------------

    private @Nullable JsonNode take(String key) {
        asked.add(key);
        JsonNode v = node.get(key);
        return v == null || v.isNull() ? null : v;
    }

    private <T extends @Nullable Object> @Nullable T bind(Function<ConfigReader, T> binder, boolean checkUnknownKeys) {
        T result = null;
        try {
            result = binder.apply(this);
        } catch (IllegalArgumentException e) {
            // A record refused what the binder let through; its message names the setting.
            doc.problems.add(doc.name + ": " + e.getMessage());
        } catch (NullPointerException e) {
            // A section that failed above returned null and a record constructor refused it;
            // the cause is already reported. With nothing reported, it is a bug: let it show.
            if (doc.problems.isEmpty()) {
                throw e;
            }
        }
        if (checkUnknownKeys) {
            reportUnknownKeys();
        }
        return result;
    }

    private void reportUnknownKeys() {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!asked.contains(key)) {
                report(key, asked.isEmpty() ? "unknown key (this section takes no keys)"
                        : "unknown key (expected one of: " + String.join(", ", asked) + ")");
            }
        }
    }

    private String qualify(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private Path resolve(String text) {
        if (text.isBlank()) {
            throw new InvalidValueException("a file path", text);
        }
        try {
            Path p = Path.of(text);
            return (p.isAbsolute() || doc.baseDir == null ? p : doc.baseDir.resolve(p)).normalize();
        } catch (InvalidPathException e) {
            throw new InvalidValueException("a file path", text);
        }
    }

    private static String spelling(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    private static String syntaxProblem(String name, JsonProcessingException e) {
        // SnakeYAML puts the context first ("while parsing a flow sequence") and the actual
        // problem, with its own position, second; report the problem where it is.
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof MarkedYAMLException m && m.getProblem() != null) {
                Mark mark = m.getProblemMark() != null ? m.getProblemMark() : m.getContextMark();
                String where = mark == null ? "" : "line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1) + ": ";
                return name + ": " + where + "invalid YAML: " + m.getProblem();
            }
        }
        JsonLocation loc = e.getLocation();
        String where = loc == null || loc.getLineNr() < 0 ? ""
                : "line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ": ";
        String detail = e.getOriginalMessage() == null ? e.getClass().getSimpleName()
                : e.getOriginalMessage().lines().findFirst().orElse("").strip();
        if (detail.startsWith("Trailing token")) {
            return name + ": " + where + "expected one YAML document, found a second one";
        }
        return name + ": " + where + "invalid YAML: " + detail.replace("Duplicate field", "duplicate key");
    }
}
