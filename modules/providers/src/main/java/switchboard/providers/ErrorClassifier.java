package switchboard.providers;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import switchboard.providers.config.ProviderConfig;
import switchboard.providers.wire.Completion;
import switchboard.providers.wire.Json;
import switchboard.providers.wire.ProviderKind;
import switchboard.providers.wire.StreamDelta;

/**
 * The error model in one place (CONTRACT.md section 3): a provider response (status, headers, body)
 * becomes exactly one {@link OutcomeKind} plus the wait it asks for. The decision is a table of
 * rows read top to bottom; rows that look at the body's error type, code or message come before the
 * rows that look at the status alone, so OpenAI's 429 {@code insufficient_quota} is out of credits,
 * not a rate limit. Provider actors, the call log and the docs all rely on this one table.
 */
public final class ErrorClassifier {

  /**
   * The outcome of one response.
   *
   * @param retryAfter what the provider asked to wait (Retry-After, {@code retry_after_seconds}, or
   *     the OpenAI reset headers for a rate limit)
   * @param detail short provider-side text such as {@code returned 429: Rate limit reached (retry after 2s)}
   */
  public record Classification(OutcomeKind kind, Optional<Duration> retryAfter, String detail) {}

  /** A classification plus, for {@code ok}, the completion it was parsed from (parsed once). */
  record Verdict(Classification classification, Optional<Completion> completion) {}

  /**
   * One row: applies when the status matches and, if {@code tokens} is not empty, one of them occurs
   * in the body's error type, code or message (case-insensitive).
   */
  public record Rule(String name, IntPredicate status, List<String> tokens, OutcomeKind kind) {
    /** A row that looks at the body only, whatever the status. */
    public static Rule body(String name, OutcomeKind kind, String... tokens) {
      return new Rule(name, ANY, List.of(tokens), kind);
    }

    boolean matches(int code, String haystack) {
      return status.test(code) && (tokens.isEmpty() || tokens.stream().anyMatch(haystack::contains));
    }
  }

  private static final IntPredicate ANY = s -> true;

  /**
   * The rows every kind shares, after the kind's own ({@link ProviderKind#errorRules()}): the body
   * conventions of aggregators and gateways that sit in front of any kind, then the status alone.
   * First matching row wins.
   */
  private static final List<Rule> RULES =
      List.of(
          Rule.body("credits in body", OutcomeKind.OUT_OF_CREDITS, "insufficient_credits", "daily_limit_busy"),
          Rule.body("budget in body", OutcomeKind.BUDGET_EXCEEDED, "budget_exceeded"),
          new Rule("402", s -> s == 402, List.of(), OutcomeKind.OUT_OF_CREDITS),
          new Rule("429", s -> s == 429, List.of(), OutcomeKind.RATE_LIMITED),
          new Rule("401/403", s -> s == 401 || s == 403, List.of(), OutcomeKind.AUTH_FAILED),
          new Rule("408", s -> s == 408, List.of(), OutcomeKind.UNAVAILABLE),
          new Rule("other 4xx", s -> s >= 400 && s < 500, List.of(), OutcomeKind.BAD_REQUEST),
          new Rule("5xx and anything else", ANY, List.of(), OutcomeKind.UNAVAILABLE));

  private static final Pattern GO_DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|h|m|s)");
  private static final Pattern TAGS = Pattern.compile("<[^>]*>");
  private static final int MAX_DETAIL = 200;

  private ErrorClassifier() {}

  /**
   * Classifies one response.
   *
   * @param headers response headers with lower-case names
   * @param authErrorsMeanQuota the provider quirk: a 401 means out of credits
   */
  public static Classification classify(
      ProviderConfig.Kind kind, boolean authErrorsMeanQuota, int status, Map<String, String> headers, String body) {
    return verdict(kind.impl(), authErrorsMeanQuota, status, headers, body, Instant.now()).classification();
  }

  /** Like {@link #classify} with the response's arrival time, for HTTP-date Retry-After values. */
  public static Classification classify(
      ProviderConfig.Kind kind, boolean authErrorsMeanQuota, int status, Map<String, String> headers, String body,
      Instant now) {
    return verdict(kind.impl(), authErrorsMeanQuota, status, headers, body, now).classification();
  }

  /**
   * An {@code error} event inside a 200 stream ({@code data}: its JSON), classified by the same rows
   * as an error body; an overloaded or unknown one is {@code unavailable}.
   */
  public static StreamDelta.Failed streamError(ProviderKind kind, String data) {
    Classification c = verdict(kind, false, 0, Map.of(), data, Instant.now()).classification();
    return new StreamDelta.Failed(c.kind(), c.detail().replaceFirst("^returned 0: ", "sent an error event: "));
  }

  static Verdict verdict(
      ProviderKind kind, boolean authErrorsMeanQuota, int status, Map<String, String> headers, String body,
      Instant now) {
    Optional<JsonNode> json = Json.parse(body);
    boolean success = status >= 200 && status < 300;
    if (success) {
      Optional<Completion> completion = json.flatMap(kind::completion);
      if (completion.isPresent()) {
        return new Verdict(new Classification(OutcomeKind.OK, Optional.empty(), "returned " + status), completion);
      }
      if (json.isEmpty() || !json.get().has("error")) {
        String type = headers.getOrDefault("content-type", "no content type");
        return new Verdict(
            new Classification(OutcomeKind.UNAVAILABLE, Optional.empty(),
                "returned " + status + " with a body that is not a completion (" + type + ")"),
            Optional.empty());
      }
    }
    String haystack = errorText(json, body).toLowerCase(Locale.ROOT);
    OutcomeKind outcome = Stream.concat(kind.errorRules().stream(), RULES.stream())
        .filter(r -> r.matches(status, haystack)).findFirst().orElseThrow().kind();
    if (outcome == OutcomeKind.AUTH_FAILED && status == 401 && authErrorsMeanQuota) {
      outcome = OutcomeKind.OUT_OF_CREDITS;
    }
    Optional<Duration> retryAfter = retryAfter(outcome, headers, json, now);
    String detail =
        "returned " + status + ": " + message(json, body, headers)
            + retryAfter.map(d -> " (retry after " + human(d) + ")").orElse("");
    return new Verdict(new Classification(outcome, retryAfter, detail), Optional.empty());
  }

  /** The text the body rows search: error type, code and message when JSON, else the raw body. */
  private static String errorText(Optional<JsonNode> json, String body) {
    if (json.isEmpty()) {
      return body == null ? "" : body.substring(0, Math.min(body.length(), 2000));
    }
    JsonNode root = json.get();
    JsonNode error = root.path("error");
    StringBuilder text = new StringBuilder();
    for (JsonNode node : List.of(root.path("type"), error.path("type"), error.path("code"), error.path("message"),
        root.path("message"), root.path("code"))) {
      if (node.isValueNode()) {
        text.append(node.asText()).append(' ');
      }
    }
    if (error.isTextual()) {
      text.append(error.asText());
    }
    return text.toString();
  }

  /** The provider's own error message, shortened; for non-JSON bodies the visible text. */
  private static String message(Optional<JsonNode> json, String body, Map<String, String> headers) {
    String text = "";
    if (json.isPresent()) {
      JsonNode root = json.get();
      JsonNode error = root.path("error");
      text =
          firstText(error.path("message"), root.path("message"), error.isTextual() ? error : null,
              error.path("type"), error.path("code"), root.path("type"));
    } else if (body != null && !body.isBlank()) {
      text = TAGS.matcher(body).replaceAll(" ").replaceAll("\\s+", " ").trim();
      if (text.isEmpty()) {
        text = "a non-JSON body (" + headers.getOrDefault("content-type", "no content type") + ")";
      }
    }
    if (text.isEmpty()) {
      text = "an empty error body";
    }
    return text.length() > MAX_DETAIL ? text.substring(0, MAX_DETAIL - 3) + "..." : text;
  }

  private static String firstText(JsonNode... nodes) {
    for (JsonNode node : nodes) {
      if (node != null && node.isValueNode() && !node.asText().isBlank()) {
        return node.asText().trim();
      }
    }
    return "";
  }

  /**
   * The wait the response asks for, in order: {@code retry-after-ms}, {@code Retry-After} (seconds
   * or HTTP-date), the body's {@code retry_after_seconds}, and for rate limits the OpenAI
   * {@code x-ratelimit-reset-requests/-tokens} durations (the exhausted one, else the longer).
   */
  static Optional<Duration> retryAfter(
      OutcomeKind outcome, Map<String, String> headers, Optional<JsonNode> json, Instant now) {
    Optional<Duration> fromHeader =
        Optional.ofNullable(headers.get("retry-after-ms")).flatMap(ErrorClassifier::parseMillis)
            .or(() -> Optional.ofNullable(headers.get("retry-after")).flatMap(v -> parseRetryAfter(v, now)));
    if (fromHeader.isPresent()) {
      return fromHeader;
    }
    Optional<Duration> fromBody =
        json.flatMap(root -> {
          for (JsonNode node : List.of(root.path("error").path("retry_after_seconds"), root.path("retry_after_seconds"))) {
            if (node.isNumber() || (node.isTextual() && !node.asText().isBlank())) {
              return parseSeconds(node.asText());
            }
          }
          return Optional.empty();
        });
    if (fromBody.isPresent() || outcome != OutcomeKind.RATE_LIMITED) {
      return fromBody;
    }
    Optional<Duration> requests = Optional.ofNullable(headers.get("x-ratelimit-reset-requests")).flatMap(ErrorClassifier::parseResetDuration);
    Optional<Duration> tokens = Optional.ofNullable(headers.get("x-ratelimit-reset-tokens")).flatMap(ErrorClassifier::parseResetDuration);
    boolean requestsOut = "0".equals(headers.get("x-ratelimit-remaining-requests"));
    boolean tokensOut = "0".equals(headers.get("x-ratelimit-remaining-tokens"));
    if (requestsOut && !tokensOut && requests.isPresent()) {
      return requests;
    }
    if (tokensOut && !requestsOut && tokens.isPresent()) {
      return tokens;
    }
    if (requests.isPresent() && tokens.isPresent()) {
      return Optional.of(requests.get().compareTo(tokens.get()) >= 0 ? requests.get() : tokens.get());
    }
    return requests.or(() -> tokens);
  }

  /**
   * A {@code Retry-After} value: whole or fractional seconds, or an HTTP-date (RFC 1123), measured
   * from {@code now} and never negative. Empty when it is neither.
   */
  public static Optional<Duration> parseRetryAfter(String value, Instant now) {
    if (value == null || value.isBlank()) {
      return Optional.empty();
    }
    Optional<Duration> seconds = parseSeconds(value);
    if (seconds.isPresent()) {
      return seconds;
    }
    try {
      Instant at = ZonedDateTime.parse(value.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
      Duration d = Duration.between(now, at);
      return Optional.of(d.isNegative() ? Duration.ZERO : d);
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  /**
   * An OpenAI reset duration in Go syntax: {@code 1s}, {@code 6m0s}, {@code 120ms}, {@code 1h2m3.5s};
   * a bare number is seconds. Empty when it is neither. The one parser of reset durations: the
   * classifier's waits and the throttle's header learning both use it.
   */
  public static Optional<Duration> parseResetDuration(String value) {
    if (value == null) {
      return Optional.empty();
    }
    String text = value.trim();
    if (text.matches("\\d+(\\.\\d+)?")) {
      return parseSeconds(text);
    }
    Matcher m = GO_DURATION.matcher(text);
    double millis = 0;
    int end = 0;
    while (m.find()) {
      if (m.start() != end) {
        return Optional.empty();
      }
      double n = Double.parseDouble(m.group(1));
      millis += switch (m.group(2)) {
        case "h" -> n * 3_600_000;
        case "m" -> n * 60_000;
        case "s" -> n * 1000;
        default -> n;
      };
      end = m.end();
    }
    if (end == 0 || end != text.length()) {
      return Optional.empty();
    }
    return Optional.of(Duration.ofMillis(Math.round(millis)));
  }

  private static Optional<Duration> parseSeconds(String value) {
    try {
      double seconds = Double.parseDouble(value.trim());
      if (seconds < 0 || Double.isNaN(seconds) || Double.isInfinite(seconds)) {
        return Optional.empty();
      }
      return Optional.of(Duration.ofMillis(Math.round(seconds * 1000)));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  private static Optional<Duration> parseMillis(String value) {
    try {
      double millis = Double.parseDouble(value.trim());
      return millis >= 0 && !Double.isInfinite(millis) ? Optional.of(Duration.ofMillis(Math.round(millis))) : Optional.empty();
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** A short human form of a wait: {@code 120ms}, {@code 2s}, {@code 1.5s}, {@code 6m0s}. */
  public static String human(Duration d) {
    long ms = d.toMillis();
    if (ms < 1000) {
      return ms + "ms";
    }
    if (ms < 60_000) {
      return ms % 1000 == 0 ? (ms / 1000) + "s" : String.format(Locale.ROOT, "%.1fs", ms / 1000.0);
    }
    long totalSeconds = ms / 1000;
    long hours = totalSeconds / 3600;
    long minutes = totalSeconds % 3600 / 60;
    long seconds = totalSeconds % 60;
    return (hours > 0 ? hours + "h" : "") + minutes + "m" + seconds + "s";
  }
}
