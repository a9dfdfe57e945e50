// The date variables llama.cpp gives every chat template (common/chat.cpp): templates such as Llama 3.x print
// "Today Date: {{ date_string }}" and FireFunction "Today is {{ datetime }}". @huggingface/jinja provides
// strftime_now() itself but not these, and JS has no strftime, so the few directives they use are here.

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** C's strftime for the directives chat templates use, in local time; an unknown directive is kept as written. */
export function strftime(format: string, d: Date = new Date()): string {
  return format.replace(/%([a-zA-Z%])/g, (whole, c: string) => {
    switch (c) {
      case "d": return pad(d.getDate());
      case "e": return String(d.getDate()).padStart(2, " ");
      case "m": return pad(d.getMonth() + 1);
      case "b": case "h": return MONTHS[d.getMonth()]!.slice(0, 3);
      case "B": return MONTHS[d.getMonth()]!;
      case "y": return pad(d.getFullYear() % 100);
      case "Y": return String(d.getFullYear());
      case "a": return DAYS[d.getDay()]!.slice(0, 3);
      case "A": return DAYS[d.getDay()]!;
      case "H": return pad(d.getHours());
      case "I": return pad(d.getHours() % 12 || 12);
      case "p": return d.getHours() < 12 ? "AM" : "PM";
      case "M": return pad(d.getMinutes());
      case "S": return pad(d.getSeconds());
      case "j": return pad(Math.floor((d.getTime() - new Date(d.getFullYear(), 0, 1).getTime()) / 86_400_000) + 1, 3);
      case "F": return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
      case "%": return "%";
      default: return whole;
    }
  });
}

/** Variables every render gets, under the request's and the server's own kwargs. */
export function clockContext(now: Date = new Date()): Record<string, unknown> {
  return {
    date_string: strftime("%d %b %Y", now),
    datetime: strftime("%b %d %Y", now),
  };
}
