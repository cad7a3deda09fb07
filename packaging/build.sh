#!/usr/bin/env bash
# packaging/build.sh VERSION: the release artifacts under packaging/target/release/ (docs/packaging.md):
#   postern-VERSION-linux-x86_64.tar.gz   bin/ lib/ runtime/ config/ systemd/ man/ completion/
#   postern_DEBVERSION_amd64.deb          the same, installed under /usr/lib/postern, /etc/postern, …
#   postern-agent-VERSION-linux-x86_64.tar.gz   the laptop agent: bin/ lib/ runtime/ systemd/ man/ completion/ config/
#   postern-agent_DEBVERSION_amd64.deb    the same, installed under /usr/lib/postern-agent, /usr/bin/postern-agent, …
#   docs/                                 man pages (AsciiDoc and roff) and completion of postern and postern-agent
# Run by `./mvnw -B -Prelease package` (module packaging, phase package), after the reactor has
# built cli/target/postern-cli.jar with cli/target/lib/ and this module's DocGen. Needs JDK 25
# (jlink, jdeps), asciidoctor (Debian package asciidoctor), dpkg-deb and tar.
set -euo pipefail
version=${1:?usage: build.sh VERSION}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
out="$here/target/release"
say() { echo "build.sh: $*" >&2; }
fail() { echo "build.sh: $*" >&2; exit 1; }

# shellcheck source=../bin/find-jdk
. "$root/bin/find-jdk"
if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/jlink" ]; then
  JAVA_HOME="$(postern_find_jdk25)" || fail "needs a JDK 25 with jlink; $(postern_jdk_install)"
fi
jdk="$JAVA_HOME"
for tool in asciidoctor dpkg-deb tar gzip; do
  command -v "$tool" >/dev/null || fail "needs $tool on PATH (Debian: apt-get install ${tool/dpkg-deb/dpkg})"
done
cli_jar="$root/cli/target/postern-cli.jar"
agent_jar="$root/posture-agent/target/postern-agent.jar"
for f in "$cli_jar" "$root/cli/target/lib" "$agent_jar" "$root/posture-agent/target/lib" "$here/target/classes/org/postern/packaging/DocGen.class" "$here/target/docgen.classpath"; do
  [ -e "$f" ] || fail "expected $f, found none: run ./mvnw -B -Prelease package (the reactor builds it)"
done

rm -rf "$out"
mkdir -p "$out"
deb_version=${version//-/\~}          # 0.1.0-SNAPSHOT → 0.1.0~SNAPSHOT (sorts before 0.1.0)
name="postern-$version-linux-x86_64"
stage="$out/$name"
mkdir -p "$stage"/{bin,lib,config,systemd,man/man1,completion}

say "man pages and completion (picocli-codegen, asciidoctor)"
# the commands as shipped: the reactor's jars, never a postern-*.jar of ~/.m2 that docgen.classpath may name
# when this module is built alone (-pl packaging); from that file only the build tools (picocli-codegen)
tools_cp=$(tr ':' '\n' < "$here/target/docgen.classpath" | grep -v '/org/postern/' | paste -sd: -)
docgen_cp="$here/target/classes:$cli_jar:$root/cli/target/lib/*:$agent_jar:$root/posture-agent/target/lib/*:$tools_cp"
"$jdk/bin/java" -cp "$docgen_cp" org.postern.packaging.DocGen "$out/docs"
for cmd in postern postern-agent; do
  mkdir -p "$out/docs/$cmd/man1"
  asciidoctor --backend manpage --destination-dir "$out/docs/$cmd/man1" "$out/docs/$cmd"/adoc/*.adoc
done
cp "$out/docs/postern/man1/"*.1 "$stage/man/man1/"
cp "$out/docs/postern/postern.bash" "$stage/completion/postern.bash"

say "runtime (jdeps, jlink)"
cp "$cli_jar" "$root/cli/target/lib/"*.jar "$stage/lib/"
# the JDK modules the jars use (the jars are not JPMS modules: they stay on the class path in lib/),
# plus those only reached through the service or provider lookups jdeps cannot see:
# SunPKCS11 (a CA key in an HSM), the zip file system and the extra charsets
modules=$("$jdk/bin/jdeps" -q --multi-release 25 --ignore-missing-deps --print-module-deps \
  --class-path "$stage/lib/*" "$stage"/lib/*.jar)
modules="$modules,jdk.crypto.cryptoki,jdk.zipfs,jdk.charsets"
say "modules: $modules"
"$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
  --compress zip-6 --output "$stage/runtime"
chmod -R u+w,go+r "$stage/runtime" # jlink writes the legal notices read-only (0444); packages want 0644

cp "$here/bin/postern" "$here/bin/postern-ready" "$stage/bin/"
cp "$here/config/gateway.yaml" "$stage/config/gateway.yaml"
cp "$root/config/examples/pki.yaml" "$stage/config/pki.yaml"
mkdir -p "$stage/config/examples"
cp "$root/config/examples/gateway.yaml" "$root/config/examples/posture-policy.yaml" "$stage/config/examples/"
# the server's units only: postern-agent@.service belongs to the agent's package
cp "$here/systemd/postern-gateway.service" "$here/systemd/postern-pki.service" "$stage/systemd/"
cp "$here/Containerfile" "$stage/Containerfile"

say "tarball"
tar -C "$out" --owner=0 --group=0 --numeric-owner -czf "$out/$name.tar.gz" "$name"

say "Debian package"
deb="$out/deb"
mkdir -p "$deb/DEBIAN" "$deb/usr/lib/postern" "$deb/usr/bin" "$deb/etc/postern" "$deb/lib/systemd/system" \
  "$deb/usr/share/man/man1" "$deb/usr/share/bash-completion/completions" "$deb/usr/share/doc/postern/examples"
cp -a "$stage/bin" "$stage/lib" "$stage/runtime" "$deb/usr/lib/postern/"
ln -s ../lib/postern/bin/postern "$deb/usr/bin/postern"
cp "$stage/config/gateway.yaml" "$stage/config/pki.yaml" "$deb/etc/postern/"
cp "$stage/systemd/"*.service "$deb/lib/systemd/system/"
for page in "$stage/man/man1/"*.1; do
  gzip -9n < "$page" > "$deb/usr/share/man/man1/$(basename "$page").gz"
done
# bash-completion sources the file: no #! line there
sed '1{/^#!/d}' "$stage/completion/postern.bash" > "$deb/usr/share/bash-completion/completions/postern"
cp "$stage/config/examples/"* "$deb/usr/share/doc/postern/examples/"
cp "$root/docs/packaging.md" "$deb/usr/share/doc/postern/"
cp "$here/debian/copyright" "$deb/usr/share/doc/postern/copyright"
sed "s/@DEB_VERSION@/$deb_version/; s/@DATE@/$(date -uR)/" "$here/debian/changelog.in" | gzip -9n > "$deb/usr/share/doc/postern/changelog.gz"
cp "$here/debian/conffiles" "$here/debian/postinst" "$deb/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$deb" | cut -f1)
sed -e "s/@DEB_VERSION@/$deb_version/" -e "s/@INSTALLED_SIZE@/$size/" "$here/debian/control.in" > "$deb/DEBIAN/control"
chmod 0755 "$deb/DEBIAN/postinst"
# gzip, not the default xz: quicker to build, and every dpkg reads it
dpkg-deb --root-owner-group -Zgzip --build "$deb" "$out/postern_${deb_version}_amd64.deb" >/dev/null
rm -rf "$deb"

# The laptop agent: a package of its own, beside the server's and installable with it (no file in
# common): its own runtime, /usr/bin/postern-agent, the unit postern-agent@.service, its man pages.
aname="postern-agent-$version-linux-x86_64"
astage="$out/$aname"
mkdir -p "$astage"/{bin,lib,config,systemd,man/man1,completion}

say "agent: runtime (jdeps, jlink)"
cp "$agent_jar" "$astage/lib/"
# BoringSSL (netty-tcnative) and the QUIC codec come per OS and CPU: a Linux x86_64 package carries
# that one only (the Windows and macOS installers take theirs: docs/packaging.md "Windows and macOS")
for jar in "$root/posture-agent/target/lib/"*.jar; do
  case "$(basename "$jar")" in
    *-osx-*|*-windows-*|*-linux-aarch_64*) ;;
    *) cp "$jar" "$astage/lib/" ;;
  esac
done
amodules=$("$jdk/bin/jdeps" -q --multi-release 25 --ignore-missing-deps --print-module-deps \
  --class-path "$astage/lib/*" "$astage"/lib/*.jar)
# plus SunPKCS11, reached by provider lookup only: a device key kept in a PKCS#11 token (agent.key.Pkcs11KeyStore)
amodules="$amodules,jdk.crypto.cryptoki"
say "agent modules: $amodules"
# --generate-cds-archive: the runtime's classes pre-parsed, so the short-lived commands (connect runs
# once per ssh connection) start faster; the archive lives in the runtime, nothing is written at run time
"$jdk/bin/jlink" --add-modules "$amodules" --strip-debug --no-header-files --no-man-pages \
  --compress zip-6 --generate-cds-archive --output "$astage/runtime" >/dev/null
chmod -R u+w,go+r "$astage/runtime"
# the archive for heaps above 32 GB (uncompressed oops): the agent's JVM never has one (MaxRAM=256m)
rm -f "$astage/runtime/lib/server/classes_nocoops.jsa"

cp "$here/bin/postern-agent" "$astage/bin/"
cp "$root/config/examples/agent.yaml" "$astage/config/agent.yaml.example"
cp "$here/systemd/postern-agent@.service" "$astage/systemd/"
# the VPN mode's CAP_NET_ADMIN: a drop-in the administrator installs on purpose, never active as shipped
cp "$here/systemd/vpn.conf" "$astage/systemd/postern-agent-vpn.conf"
cp "$out/docs/postern-agent/man1/"*.1 "$astage/man/man1/"
cp "$out/docs/postern-agent/postern-agent.bash" "$astage/completion/postern-agent.bash"

say "agent: tarball"
tar -C "$out" --owner=0 --group=0 --numeric-owner -czf "$out/$aname.tar.gz" "$aname"

say "agent: Debian package"
deb="$out/deb-agent"
mkdir -p "$deb/DEBIAN" "$deb/usr/lib/postern-agent" "$deb/usr/bin" "$deb/lib/systemd/system" "$deb/usr/share/man/man1" \
  "$deb/usr/share/bash-completion/completions" "$deb/usr/share/doc/postern-agent/examples" "$deb/usr/share/postern-agent"
cp -a "$astage/bin" "$astage/lib" "$astage/runtime" "$deb/usr/lib/postern-agent/"
ln -s ../lib/postern-agent/bin/postern-agent "$deb/usr/bin/postern-agent"
cp "$astage/systemd/postern-agent@.service" "$deb/lib/systemd/system/"
# outside /usr/share/doc, which minimal installs leave out (dpkg path-exclude)
cp "$astage/systemd/postern-agent-vpn.conf" "$deb/usr/share/postern-agent/vpn.conf"
for page in "$astage/man/man1/"*.1; do
  gzip -9n < "$page" > "$deb/usr/share/man/man1/$(basename "$page").gz"
done
sed '1{/^#!/d}' "$astage/completion/postern-agent.bash" > "$deb/usr/share/bash-completion/completions/postern-agent"
cp "$root/config/examples/agent.yaml" "$deb/usr/share/doc/postern-agent/examples/"
cp "$root/docs/packaging.md" "$root/docs/agent.md" "$deb/usr/share/doc/postern-agent/"
cp "$here/debian/agent/copyright" "$deb/usr/share/doc/postern-agent/copyright"
sed -e "s/^postern (/postern-agent (/" -e "s/@DEB_VERSION@/$deb_version/; s/@DATE@/$(date -uR)/" "$here/debian/changelog.in" \
  | gzip -9n > "$deb/usr/share/doc/postern-agent/changelog.gz"
cp "$here/debian/agent/postinst" "$deb/DEBIAN/"
chmod 0755 "$deb/DEBIAN/postinst"
size=$(du -sk --exclude=DEBIAN "$deb" | cut -f1)
sed -e "s/@DEB_VERSION@/$deb_version/" -e "s/@INSTALLED_SIZE@/$size/" "$here/debian/agent/control.in" > "$deb/DEBIAN/control"
dpkg-deb --root-owner-group -Zgzip --build "$deb" "$out/postern-agent_${deb_version}_amd64.deb" >/dev/null
rm -rf "$deb"
say "done: $(cd "$out" && ls ./*.tar.gz ./*.deb | tr '\n' ' ')"
