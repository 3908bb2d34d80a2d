import ESpeakNg from "espeak-ng";
import * as T from "/tmp/ct/text.js";
import { Rng } from "/tmp/ct/random.js";
const accents = ["en-us","en-us-nyc","en-gb","en-gb-scotland","en-gb-x-rp","en-029","en-gb-x-gbclan","en-gb-x-gbcwmd"];
const words = T.freeSentenceVocabulary().map(w=>w.replace("'s","")).filter(Boolean);
const texts = [...T.allCommandPhrasings(), ...words];
const r = new Rng(5); for (let i=0;i<300;i++) texts.push(T.freeSentence(r));
console.log("vocab", words.length, "texts", texts.length);
const counts = {}; const examples = {};
for (const acc of accents) {
  const errs = [];
  const es = await ESpeakNg({arguments: ["-q","-x","--sep=|","--phonout","/tmp/p.txt","-f","/tmp/in.txt","-v",acc], preRun: [], print:()=>{}, printErr:(s)=>errs.push(s),
  });
  // can't write file before run easily; use text arg instead
}
for (const acc of accents) {
  const errs=[];
  const es = await ESpeakNg({arguments: ["-q","-x","--sep=|","--phonout","/tmp/p.txt","-v",acc, texts.map(t=>t.toLowerCase()).join(". ")], print:()=>{}, printErr:(s)=>errs.push(s)});
  const out = es.FS.readFile("/tmp/p.txt",{encoding:"utf8"});
  if (errs.length) console.log(acc, "ERR", errs.slice(0,3));
  const lines = out.split("\n");
  for (const [li, line] of lines.entries()) for (const tok of line.split(/[\s|]+/)) { if(!tok) continue; const k = tok.replace(/[',%=]/g,""); counts[k]=(counts[k]||0)+1; (examples[k] ||= new Set()).add(acc); }
}
for (const [k,v] of Object.entries(counts).sort((a,b)=>b[1]-a[1])) console.log(JSON.stringify(k), v, [...examples[k]].length===8?"all":[...examples[k]].join(","));
