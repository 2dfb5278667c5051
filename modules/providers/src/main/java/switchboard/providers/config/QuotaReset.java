package switchboard.providers.config;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;

/**
 * When an out-of-credits breaker may close again ({@code quota-reset}): {@code daily} is the next
 * 00:00 UTC, {@code monthly} the first of next month 00:00 UTC, or a fixed duration from now.
 */
public sealed interface QuotaReset {

  Instant next(Instant now);

  /** How it is written in config. */
  String describe();

  record Daily() implements QuotaReset {
    @Override
    public Instant next(Instant now) {
      LocalDate today = now.atZone(ZoneOffset.UTC).toLocalDate();
      return today.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
    }

    @Override
    public String describe() {
      return "daily";
    }
  }

  record Monthly() implements QuotaReset {
    @Override
    public Instant next(Instant now) {
      ZonedDateTime utc = now.atZone(ZoneOffset.UTC);
      return utc.toLocalDate().withDayOfMonth(1).plusMonths(1).atStartOfDay(ZoneOffset.UTC).toInstant();
    }

    @Override
    public String describe() {
      return "monthly";
    }
  }

  record After(Duration duration) implements QuotaReset {
    @Override
    public Instant next(Instant now) {
      return now.plus(duration);
    }

    @Override
    public String describe() {
      return duration.toString();
    }
  }

  /** Reads {@code key} of {@code reader}: "daily", "monthly" or a duration. */
  static QuotaReset read(ConfigReader reader, String key) {
    if (!reader.has(key)) {
      return new Daily();
    }
    String text = reader.string(key, "daily");
    if (text.equals("daily")) {
      return new Daily();
    }
    if (text.equals("monthly")) {
      return new Monthly();
    }
    try {
      Duration duration = reader.config().getDuration(key);
      if (!duration.isZero() && !duration.isNegative()) {
        return new After(duration);
      }
    } catch (com.typesafe.config.ConfigException e) {
      // reported below
    }
    reader.problem(key, "\"" + text + "\" is not allowed (expected daily, monthly or a duration like 1h)");
    return new Daily();
  }
}
