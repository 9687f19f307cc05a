/**
 * Deterministic mixed text for the tokenizer benchmarks: English prose, code, numbers, emoji, CJK and
 * whitespace runs, from a seeded generator so every run measures the same input.
 */
const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they ' +
  'you were her she there been one all we their has would when if so what out up more who will no about into ' +
  'tokenizer context window message assistant conversation streaming latency throughput deployment inference ' +
  'international responsibility extraordinary misunderstanding characteristics'
).split(' ');
const CODE = [
  'const total = items.reduce((sum, item) => sum + item.price * item.quantity, 0);',
  'for (let i = 0; i < n; i++) {\n    buffer[i] = (buffer[i] ^ key[i % key.length]) & 0xff;\n}',
  'def handler(event, context):\n\treturn {"statusCode": 200, "body": json.dumps(event)}',
  'SELECT c.id, c.title FROM c WHERE c.userId = @userId ORDER BY c.updatedAt DESC',
  '<li class="item active"><a href="/api/conversations/c_123">Open</a></li>',
];
const CJK = ['我们今天去公园散步，天气很好。', '日本語のテキストです。', '한국어 문장입니다.', '机器学习模型需要大量的数据。'];
const EMOJI = ['😀', '🚀', '👍🏽', '🇫🇷', '❤️', '👩‍💻', '✨'];
const SPACES = [' ', '  ', '\n', '\n\n', '\t', '    ', ' \n'];

/** A small, fast, seedable PRNG (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** About `chars` characters of mixed text, the same for the same seed. */
export function mixedText(chars: number, seed = 42): string {
  const next = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const parts: string[] = [];
  let length = 0;
  while (length < chars) {
    const roll = next();
    let part: string;
    if (roll < 0.7) part = (next() < 0.1 ? pick(WORDS).toUpperCase() : pick(WORDS)) + (next() < 0.1 ? pick(['.', ',', '?', '!', ':']) : '');
    else if (roll < 0.78) part = String(Math.floor(next() * 10 ** Math.floor(next() * 12)));
    else if (roll < 0.84) part = pick(CODE);
    else if (roll < 0.9) part = pick(CJK);
    else if (roll < 0.93) part = pick(EMOJI);
    else part = pick(SPACES);
    parts.push(part, roll < 0.93 ? ' ' : '');
    length += part.length + 1;
  }
  return parts.join('');
}
