/** One "name value" pair of a card's facts (inside a <dl className="facts">). */
export function Fact({ k, v }: { k: string; v: string }) {
  return (
    <div className="fact">
      <dt>{k}</dt>
      <dd>{v}</dd>
    </div>
  );
}
