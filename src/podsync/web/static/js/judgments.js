// Words that are often heard as judgment rather than as what happened. While the
// giver and the steward draft a statement, the page points them out gently — a
// prompt to say what was seen or heard, never a block.

import { h } from "./dom.js";

export const EVALUATIVE = [
  "always", "never", "every time", "constantly", "lazy", "rude", "selfish", "arrogant",
  "controlling", "bossy", "careless", "useless", "incompetent", "irresponsible",
  "disrespectful", "manipulative", "ridiculous", "stupid", "typical", "obviously",
];

const PATTERN = new RegExp(`\\b(${EVALUATIVE.map((w) => w.replace(" ", "\\s+")).join("|")})\\b`, "gi");

/** The evaluative words in `text`, each once, as written. */
export function judgments(text) {
  const found = [];
  for (const match of String(text || "").matchAll(PATTERN)) {
    const word = match[1].toLowerCase().replace(/\s+/g, " ");
    if (!found.includes(word)) found.push(word);
  }
  return found;
}

function prompt(words) {
  if (!words.length) return [];
  return [
    ...words.flatMap((w, i) => [i ? ", " : "", h("mark", {}, `“${w}”`)]),
    words.length === 1 ? " may be heard as a judgment" : " may be heard as judgments",
    " rather than what happened. What did you see or hear, specifically? (Just a prompt: you can keep it.)",
  ];
}

/** Watch every textarea of `form`: below each, the evaluative words it holds. */
export function flagJudgments(form) {
  for (const area of form.querySelectorAll("textarea")) {
    const note = h("p", { class: "flags", "aria-live": "polite", "data-flags": area.name });
    area.closest(".field").append(note);
    const update = () => note.replaceChildren(...prompt(judgments(area.value)));
    area.addEventListener("input", update);
    update();
  }
  return form;
}
