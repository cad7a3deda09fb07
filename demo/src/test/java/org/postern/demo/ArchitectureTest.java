package org.postern.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The module graph of docs/architecture.md, checked over the compiled classes of every module:
 * a class may refer only to classes of its own module and of the modules below it. Reads each
 * class file's constant pool (class references and type descriptors), so a fully qualified name
 * used without an import counts too.
 */
class ArchitectureTest {
    /** Each module and the project modules it may use; the order is the reactor's. */
    static final Map<String, Set<String>> ALLOWED = new LinkedHashMap<>();

    static {
        ALLOWED.put("config", Set.of());
        ALLOWED.put("protocol", Set.of("config"));
        ALLOWED.put("tls", Set.of("config", "protocol"));
        ALLOWED.put("vpn", Set.of("config"));
        ALLOWED.put("audit", Set.of("config", "protocol", "tls"));
        ALLOWED.put("pki", Set.of("config", "protocol", "tls", "audit"));
        ALLOWED.put("posture-agent", Set.of("config", "protocol", "tls", "vpn"));
        ALLOWED.put("gateway", Set.of("config", "protocol", "tls", "vpn", "audit", "pki"));
        ALLOWED.put("cli", Set.of("config", "protocol", "tls", "vpn", "audit", "pki", "gateway"));
        ALLOWED.put("demo", Set.of("config", "protocol", "tls", "vpn", "audit", "pki", "gateway", "cli", "posture-agent"));
    }

    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @Test
    void everyModule_refersOnlyToModulesBelowIt() throws IOException {
        Map<String, String> moduleOfPackage = new HashMap<>();
        Map<String, List<Path>> classesOf = new LinkedHashMap<>();
        for (String module : ALLOWED.keySet()) {
            Path classes = ROOT.resolve(module).resolve("target/classes");
            assertThat(classes).as("compiled classes of module %s (build the whole reactor: ./mvnw -B verify)", module)
                    .isDirectory();
            List<Path> files;
            try (Stream<Path> s = Files.walk(classes)) {
                files = s.filter(p -> p.toString().endsWith(".class")).toList();
            }
            assertThat(files).as("classes of module %s", module).isNotEmpty();
            classesOf.put(module, files);
            for (Path f : files) {
                String pkg = classes.relativize(f.getParent()).toString().replace('\\', '/');
                String previous = moduleOfPackage.putIfAbsent(pkg, module);
                assertThat(previous == null || previous.equals(module))
                        .as("package %s is split between modules %s and %s", pkg, previous, module).isTrue();
            }
        }
        List<String> violations = new ArrayList<>();
        for (Map.Entry<String, List<Path>> e : classesOf.entrySet()) {
            String module = e.getKey();
            Set<String> allowed = ALLOWED.get(module);
            for (Path f : e.getValue()) {
                Set<String> seen = new TreeSet<>();
                for (String ref : referencedClasses(f)) {
                    int slash = ref.lastIndexOf('/');
                    String target = slash < 0 ? null : moduleOfPackage.get(ref.substring(0, slash));
                    if (target != null && !target.equals(module) && !allowed.contains(target) && seen.add(target)) {
                        violations.add(module + ": " + ROOT.resolve(module).resolve("target/classes").relativize(f)
                                + " uses " + ref.replace('/', '.') + " of module " + target);
                    }
                }
            }
        }
        assertThat(violations).as("references against the module graph of docs/architecture.md").isEmpty();
    }

    @Test
    void referencedClasses_findsClassReferencesAndDescriptors() throws IOException {
        // this class refers to AssertJ and JUnit, and its own nested class appears by name
        Path self = Path.of("target/test-classes/org/postern/demo/ArchitectureTest.class");
        assertThat(referencedClasses(self)).contains("org/assertj/core/api/Assertions", "java/nio/file/Path",
                "org/junit/jupiter/api/Test");
    }

    /** Internal names of every class a class file refers to: its Class constants and the types in its descriptors. */
    static Set<String> referencedClasses(Path classFile) throws IOException {
        Set<String> out = new TreeSet<>();
        List<String> utf8 = new ArrayList<>();
        List<Integer> classIndexes = new ArrayList<>();
        try (InputStream raw = Files.newInputStream(classFile); DataInputStream in = new DataInputStream(raw)) {
            if (in.readInt() != 0xCAFEBABE) {
                throw new IOException(classFile + ": expected a class file, found no 0xCAFEBABE magic");
            }
            in.readUnsignedShort();
            in.readUnsignedShort();
            int count = in.readUnsignedShort();
            String[] strings = new String[count];
            for (int i = 1; i < count; i++) {
                int tag = in.readUnsignedByte();
                switch (tag) {
                    case 1 -> {
                        strings[i] = in.readUTF();
                        utf8.add(strings[i]);
                    }
                    case 7 -> classIndexes.add(in.readUnsignedShort());
                    case 8, 16, 19, 20 -> in.readUnsignedShort();
                    case 15 -> {
                        in.readUnsignedByte();
                        in.readUnsignedShort();
                    }
                    case 3, 4, 9, 10, 11, 12, 17, 18 -> in.readInt();
                    case 5, 6 -> {
                        in.readLong();
                        i++; // long and double take two slots
                    }
                    default -> throw new IOException(classFile + ": expected a constant-pool tag, found " + tag);
                }
            }
            for (int index : classIndexes) {
                String name = strings[index];
                if (name != null && !name.startsWith("[")) { // arrays are found as descriptors below
                    out.add(name);
                }
            }
        }
        // descriptors and signatures: Lorg/postern/x/Y; anywhere in a UTF-8 constant
        for (String s : utf8) {
            int at = s.indexOf('L');
            while (at >= 0) {
                int end = s.indexOf(';', at);
                if (end < 0) {
                    break;
                }
                String candidate = s.substring(at + 1, end);
                if (candidate.matches("[A-Za-z_$][\\w$]*(/[\\w$]+)+")) {
                    out.add(candidate);
                }
                at = s.indexOf('L', at + 1);
            }
        }
        return out;
    }
}
