import BerthEngine
import Testing

/// `ps --format {{.Created}}` prints dates computed without a calendar.
@Suite struct CivilDateTests {
  @Test(arguments: [
    (0, 1970, 1, 1), (-1, 1969, 12, 31), (59, 1970, 3, 1), (789, 1972, 2, 29),
    (10957, 2000, 1, 1), (11016, 2000, 2, 29), (11017, 2000, 3, 1), (-25509, 1900, 2, 28),
    (-25508, 1900, 3, 1), (20789, 2026, 12, 2), (2_932_896, 9999, 12, 31),
  ])
  func aDayCountIsItsGregorianDate(days: Int, year: Int, month: Int, day: Int) {
    let date = civilDate(daysSinceEpoch: days)
    #expect(date.year == year && date.month == month && date.day == day)
  }
}
