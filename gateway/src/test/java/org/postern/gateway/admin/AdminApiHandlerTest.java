package org.postern.gateway.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.HttpMethod;
import org.junit.jupiter.api.Test;

class AdminApiHandlerTest {

    @Test
    void sessionId_fromDeleteOrPostKill_only() {
        assertThat(AdminApiHandler.sessionId("/v1/sessions/s-1", HttpMethod.DELETE)).contains("s-1");
        assertThat(AdminApiHandler.sessionId("/v1/sessions/s-1/kill", HttpMethod.POST)).contains("s-1");
        assertThat(AdminApiHandler.sessionId("/v1/sessions/a%20b", HttpMethod.DELETE)).contains("a b");
        assertThat(AdminApiHandler.sessionId("/v1/sessions/s-1", HttpMethod.POST)).isEmpty();
        assertThat(AdminApiHandler.sessionId("/v1/sessions/s-1/kill", HttpMethod.DELETE)).isEmpty();
        assertThat(AdminApiHandler.sessionId("/v1/sessions/", HttpMethod.DELETE)).isEmpty();
        assertThat(AdminApiHandler.sessionId("/v1/sessions//kill", HttpMethod.POST)).isEmpty();
        assertThat(AdminApiHandler.sessionId("/v1/sessions/a/b/kill", HttpMethod.POST)).isEmpty();
        assertThat(AdminApiHandler.sessionId("/v1/other/s-1", HttpMethod.DELETE)).isEmpty();
    }

    @Test
    void roles_onlySecurityAdminActs() {
        assertThat(AdminRole.of("security-admin")).contains(AdminRole.SECURITY_ADMIN);
        assertThat(AdminRole.of("auditor")).contains(AdminRole.AUDITOR);
        assertThat(AdminRole.of("root")).isEmpty();
        assertThat(AdminRole.SECURITY_ADMIN.mayAct()).isTrue();
        assertThat(AdminRole.AUDITOR.mayAct()).isFalse();
    }
}
