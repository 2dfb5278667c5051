package switchboard.providers.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProviderConfigTest {

  private static ConfigReader switchboard(String hocon) {
    return ConfigReader.of(
        ConfigFactory.parseString(hocon).withFallback(ConfigFactory.defaultReference()).getConfig("switchboard"),
        "switchboard");
  }

  @Test
  void everyProblemInsideAProviderEntryIsReportedWithItsFullKey() {
    ConfigReader sb = switchboard("""
        switchboard.providers = [
          { name = "a", kind = "gemini", priority = "high", timeout = "soon", quota-reset = "weekly" },
          { name = "b", kind = "openai", base-url = "ftp://x", api-keys = ["k"], simulate.fail-every = -1 }
        ]
        """);
    ProviderConfig.readAll(sb);
    assertEquals(
        List.of(
            "switchboard.providers[0].kind: \"gemini\" is not allowed (expected one of openai, anthropic, simulated)",
            "switchboard.providers[0].priority: \"high\" is not a whole number",
            "switchboard.providers[0].timeout: \"soon\" is not a duration like 250ms, 30s or 1h",
            "switchboard.providers[0].quota-reset: \"weekly\" is not allowed (expected daily, monthly or a duration like 1h)",
            "switchboard.providers[1].base-url: \"ftp://x\" is not a URL (expected http://... or https://...)",
            "switchboard.providers[1].simulate.fail-every: -1 is too small (expected at least 0)"),
        sb.problems());
  }

  @Test
  void duplicateNamesAndMissingNamesAreProblems() {
    ConfigReader sb = switchboard("""
        switchboard.providers = [ { name = "a", kind = simulated }, { name = "a", kind = simulated }, { kind = simulated } ]
        """);
    ProviderConfig.readAll(sb);
    assertEquals(
        List.of(
            "switchboard.providers[1].name: \"a\" is used by another provider (expected unique names)",
            "switchboard.providers[2].name: is missing (expected a unique name)"),
        sb.problems());
  }

  @Test
  void entriesTakeProviderDefaultsAndKindDefaultsAndAreSortedByPriority() {
    ConfigReader sb = switchboard("""
        switchboard.provider-defaults.timeout = 5s
        switchboard.providers = [
          { name = "second", kind = "anthropic", priority = 2, api-keys = ["x", "y"] },
          { name = "first", kind = "openai", priority = 1, base-url = "http://127.0.0.1:9/v1/", quota-reset = 1h }
        ]
        """);
    List<ProviderConfig> providers = ProviderConfig.readAll(sb);
    assertEquals(List.of(), sb.problems());
    assertEquals(List.of("first", "second"), providers.stream().map(ProviderConfig::name).toList());
    ProviderConfig first = providers.get(0);
    assertEquals("http://127.0.0.1:9/v1", first.baseUrl());
    assertEquals("gpt-4o-mini", first.model());
    assertEquals(Duration.ofSeconds(5), first.timeout());
    assertFalse(first.usable(), "a real provider without keys is left out");
    assertEquals(new QuotaReset.After(Duration.ofHours(1)), first.quotaReset());
    ProviderConfig second = providers.get(1);
    assertEquals("https://api.anthropic.com", second.baseUrl());
    assertEquals(List.of("second#1", "second#2"), second.keyAliases());
    assertTrue(second.usable());
    assertInstanceOf(QuotaReset.Daily.class, second.quotaReset());
  }

  @Test
  void quotaResetsAreTheNextUtcMidnightOrFirstOfTheMonth() {
    Instant now = Instant.parse("2026-11-21T13:45:00Z");
    assertEquals(Instant.parse("2026-11-22T00:00:00Z"), new QuotaReset.Daily().next(now));
    assertEquals(Instant.parse("2026-12-01T00:00:00Z"), new QuotaReset.Monthly().next(now));
    assertEquals(Instant.parse("2027-01-01T00:00:00Z"), new QuotaReset.Monthly().next(Instant.parse("2026-12-31T23:59:59Z")));
  }

  @Test
  void retryBackoffDoublesUpToItsCap() {
    ConfigReader sb = switchboard("switchboard.retry { backoff-base = 1s, backoff-max = 5s, jitter = 2 }");
    RetryConfig retry = RetryConfig.read(sb);
    assertEquals(List.of("switchboard.retry.jitter: 2.0 is too large (expected a fraction from 0 to 1)"), sb.problems());
    assertEquals(List.of(1000L, 2000L, 4000L, 5000L),
        List.of(1, 2, 3, 4).stream().map(n -> retry.backoff(n).toMillis()).toList());
  }
}
