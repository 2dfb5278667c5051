package switchboard.router;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderResult;

class ErrorTextsTest {

  private static String text(OutcomeKind kind, int status, String detail, Optional<Duration> retryAfter) {
    return ErrorTexts.of(new ProviderResult.Failure("primary", kind, status, detail, retryAfter, 1));
  }

  @Test
  void everyKindNamesTheProviderAndSaysWhatToDo() {
    assertEquals(
        "Provider primary returned 402: insufficient credits. Please top up your balance and try again.",
        text(OutcomeKind.OUT_OF_CREDITS, 402, "whatever the body said", Optional.empty()));
    assertEquals(
        "Provider primary is rate limiting requests (HTTP 429). Please try again in 5s.",
        text(OutcomeKind.RATE_LIMITED, 429, "slow down", Optional.of(Duration.ofSeconds(5))));
    assertEquals(
        "Provider primary is rate limiting requests (HTTP 429). Please try again in a minute.",
        text(OutcomeKind.RATE_LIMITED, 429, "slow down", Optional.empty()));
    assertEquals(
        "Provider primary reached its spending cap: daily budget of 5.00 reached. No more messages go to it until the cap resets.",
        text(OutcomeKind.BUDGET_EXCEEDED, 0, "daily budget of 5.00 reached", Optional.empty()));
    assertEquals(
        "Provider primary refused the gateway's API key (HTTP 403). An operator must fix the key for provider primary in the gateway configuration.",
        text(OutcomeKind.AUTH_FAILED, 403, "forbidden", Optional.empty()));
    assertEquals(
        "Provider primary rejected the request (HTTP 422): messages: field required",
        text(OutcomeKind.BAD_REQUEST, 422, "messages: field required", Optional.empty()));
    assertEquals(
        "Provider primary is unavailable: HTTP 503 after 4 calls. Please try again later.",
        text(OutcomeKind.UNAVAILABLE, 503, "HTTP 503 after 4 calls", Optional.empty()));
  }

  @Test
  void timeoutsAndInternalErrorsAreClearToo() {
    assertEquals(
        "Request timed out: no provider answered within 120s (last asked: primary). Please try again later.",
        ErrorTexts.timedOut("primary", Duration.ofSeconds(120)));
    assertEquals("Switchboard had an internal error, please send your message again.", ErrorTexts.internalError());
  }
}
