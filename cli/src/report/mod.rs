//! `daedalus report`: one self-contained HTML file with charts per market.
//!
//! Everything is inline (CSS and hand-written SVG; no script, font, image or link to anything
//! outside the file), so it opens offline in any browser. Per market: candlesticks with volume
//! from gold time bars, VPIN per completed bucket, OFI and TFI per interval, spread and depth
//! imbalance from silver book, Kyle's lambda, and a data-quality timeline (book gaps, resets,
//! uncrossed books, crossed tickers, interval resets, late rows of watch runs); then the run
//! parameters and the inventory of [`crate::inspect`]. Reading is [`load`], drawing [`draw`],
//! the page [`html`].
//!
//! Long series are downsampled **for drawing only**: each line chart keeps the minimum and the
//! maximum of each of at most `max_points / 2` time buckets (so spikes survive), and more than
//! `max_points` bars are merged into candles of `k` consecutive bars (`data-bars="k"`). Every
//! number in the tables is computed from all rows. Data is streamed column-projected batch by
//! batch, so memory stays bounded whatever the root's size.
//!
//! Each candle is one `<g class="candle" data-bars="n">` element (empty time bars, with no
//! trades, are `<g class="candle empty">`), so the candles of a market sum to its bars.

mod cross;
mod draw;
mod html;
mod load;

pub(crate) use html::{ReportOptions, build_report};

#[cfg(test)]
mod tests {
    use super::draw::{esc, nice_ticks, num};
    use super::load::Buckets;

    #[test]
    fn buckets_keep_extremes() {
        let mut b = Buckets::new(0, 999, 10);
        for t in 0..1000 {
            b.push(t, if t == 555 { 100.0 } else { (t % 7) as f64 });
        }
        let p = b.points();
        assert!(p.len() <= 20);
        assert!(p.iter().any(|x| x.1 == 100.0));
        assert!(p.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(b.stat.n, 1000);
        assert_eq!(b.stat.max, Some(100.0));
    }

    #[test]
    fn numbers_and_ticks() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(61234.5), "61234.5");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(nice_ticks(0.0, 1.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(esc("<a&\"b\">"), "&lt;a&amp;&quot;b&quot;&gt;");
    }
}
