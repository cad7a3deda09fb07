package org.postern.agent.collect.linux;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Reads {@code lsblk -J -o NAME,TYPE,FSTYPE,MOUNTPOINT,PKNAME} (util-linux; JSON since 2.27). The
 * output is a tree from the disks up: a disk's {@code children} are its partitions, a partition's
 * the crypt or LVM devices on it, and the device mounted at {@code /} is a leaf of that tree.
 *
 * <p>Used only as a cross-check of the sysfs walk, never as the verdict: lsblk's TYPE
 * {@code crypt} comes from the {@code CRYPT-} prefix of the dm uuid, which dm-verity and
 * dm-integrity devices made by cryptsetup also carry, so "crypt" on the path does not prove
 * encryption. Its absence, however, contradicts a sysfs verdict of "encrypted".
 */
final class Lsblk {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Lsblk() {
    }

    /** One device on the way from a disk up to {@code /}. */
    record Node(String name, String type) {
    }

    /**
     * The devices from a disk up to the one mounted at {@code /}, disk first; empty when no device
     * is mounted at {@code /}. When {@code /} sits on several disks (LVM over two PVs) the first
     * path found is returned.
     *
     * @throws IllegalArgumentException when the text is not lsblk's JSON
     */
    static Optional<List<Node>> pathToRoot(String json) {
        JsonNode top;
        try {
            top = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("lsblk output is not JSON: " + e.getOriginalMessage());
        }
        JsonNode devices = top == null ? null : top.get("blockdevices");
        if (devices == null || !devices.isArray()) {
            throw new IllegalArgumentException("lsblk output has no \"blockdevices\" array");
        }
        for (JsonNode d : devices) {
            Optional<List<Node>> p = find(d, new ArrayList<>());
            if (p.isPresent()) {
                return p;
            }
        }
        return Optional.empty();
    }

    private static Optional<List<Node>> find(JsonNode n, List<Node> above) {
        List<Node> path = new ArrayList<>(above);
        path.add(new Node(text(n, "name"), text(n, "type")));
        if ("/".equals(text(n, "mountpoint"))) {
            return Optional.of(List.copyOf(path));
        }
        JsonNode children = n.get("children");
        if (children != null && children.isArray()) {
            for (JsonNode c : children) {
                Optional<List<Node>> p = find(c, path);
                if (p.isPresent()) {
                    return p;
                }
            }
        }
        return Optional.empty();
    }

    static boolean hasCryptType(List<Node> path) {
        return path.stream().anyMatch(n -> "crypt".equals(n.type()));
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
