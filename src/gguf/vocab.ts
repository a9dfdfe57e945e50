// A synthetic SentencePiece ("llama" tokenizer model) vocabulary.
//
// llama.cpp's SPM tokenizer starts from single characters and repeatedly merges
// the adjacent pair with the highest score whose concatenation is a token;
// whatever is left that is not a token falls back to <0xXX> byte tokens. So:
//  - every piece we add is "prefix closed" (all its prefixes are tokens too),
//    otherwise it could never be produced by merging and would be dead weight;
//  - scores decrease with the position in the list, the list is ordered from
//    most to least common, so common pieces win merges (like a real SPM model,
//    whose score is minus the merge rank);
//  - U+2581 ("▁") marks a word start and only ever appears at the start of a
//    piece, so merges never cross word boundaries;
//  - newline, tab and non-ASCII text only round-trip through byte fallback,
//    which is also how LLaMA's own vocabulary treats newlines.

import { gguf, type GgufValue } from "./writer.js";

/** llama.cpp token types (tokenizer.ggml.token_type). */
export const LlamaTokenType = {
    undefined: 0,
    normal: 1,
    unknown: 2,
    control: 3,
    userDefined: 4,
    unused: 5,
    byte: 6
} as const;

export const SPM_SPACE = "\u2581";

export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const IM_START_ID = 3;
export const IM_END_ID = 4;
export const FIRST_BYTE_TOKEN_ID = 5;
/** Control tokens + 256 byte tokens; a vocabulary must be larger than this. */
export const RESERVED_TOKEN_COUNT = FIRST_BYTE_TOKEN_ID + 256;
export const MAX_VOCAB_SIZE = 262144;

export interface LlamaVocab {
    tokens: string[];
    scores: Float32Array;
    tokenTypes: Int32Array;
    unkId: number;
    bosId: number;
    eosId: number;
    /** `<|im_end|>`: end of a chat turn, which llama.cpp should treat as end of generation. */
    eotId: number;
    imStartId: number;
    imEndId: number;
}

// Roughly in order of frequency in English text; order only affects scores.
const COMMON_WORDS = `
the of and to a in is it you that he was for on are with as i his they be at one have this from or had by
not word but what some we can out other were all there when up use your how said an each she which do their
time if will way about many then them write would like so these her long make thing see him two has look more
day could go come did number sound no most people my over know water than call first who may down side been
now find any new work part take get place made live where after back little only round man year came show
every good me give our under name very through just form sentence great think say help low line differ turn
cause much mean before move right boy old too same tell does set three want air well also play small end put
home read hand port large spell add even land here must big high such follow act why ask men change went light
kind off need house picture try us again animal point mother world near build self earth father head stand own
page should country found answer school grow study still learn plant cover food sun four between state keep
eye never last let thought city tree cross farm hard start might story saw far sea draw left late run while
press close night real life few north open seem together next white children begin got walk example ease paper
group always music those both mark often letter until mile river car feet care second book carry took science
eat room friend began idea fish mountain stop once base hear horse cut sure watch color face wood main enough
plain girl usual young ready above ever red list though feel talk bird soon body dog family direct pose leave
song measure door product black short numeral class wind question happen complete ship area half rock order
fire south problem piece told knew pass since top whole king space heard best hour better true during hundred
five remember step early hold west ground interest reach fast verb sing listen six table travel less morning
ten simple several vowel toward war lay against pattern slow center love person money serve appear road map
rain rule govern pull cold notice voice unit power town fine certain fly fall lead cry dark machine note wait
plan figure star box noun field rest correct able pound done beauty drive stood contain front teach week final
gave green oh quick develop ocean warm free minute strong special mind behind clear tail produce fact street
inch multiply nothing course stay wheel full force blue object decide surface deep moon island foot system
busy test record boat common gold possible plane stead dry wonder laugh thousand ago ran check game shape
equate hot miss brought heat snow tire bring yes distant fill east paint language among grand ball yet wave
drop heart am present heavy dance engine position arm wide sail material size vary settle speak weight general
ice matter circle pair include divide syllable felt perhaps pick sudden count square reason length represent
art subject region energy hunt probable bed brother egg ride cell believe fraction forest sit race window store
summer train sleep prove lone leg exercise wall catch mount wish sky board joy winter sat written wild
instrument kept glass grass cow job edge sign visit past soft fun bright gas weather month million bear finish
happy hope flower clothe strange gone jump baby eight village meet root buy raise solve metal whether push
seven paragraph third shall held hair describe cook floor either result burn hill safe cat century consider
type law bit coast copy phrase silent tall sand soil roll temperature finger industry value fight lie beat
excite natural view sense ear else quite broke case middle kill son lake moment scale loud spring observe
child straight consonant nation dictionary milk speed method organ pay age section dress cloud surprise quiet
stone tiny climb cool design poor lot experiment bottom key iron single stick flat twenty skin smile crease
hole trade melody trip office receive row mouth exact symbol die least trouble shout except wrote seed tone
join suggest clean break lady yard rise bad blow oil blood touch grew cent mix team wire cost lost brown wear
garden equal sent choose fell fit flow fair bank collect save control decimal gentle woman captain practice
separate difficult doctor please protect noon whose locate ring character insect caught period indicate radio
spoke atom human history effect electric expect crop modern element hit student corner party supply bone rail
imagine provide agree thus capital chair danger fruit rich thick soldier process operate guess necessary sharp
wing create neighbor wash bat rather crowd corn compare poem string bell depend meat rub tube famous dollar
stream fear sight thin triangle planet hurry chief colony clock mine tie enter major fresh search send yellow
gun allow print dead spot desert suit current lift rose continue block chart hat sell success company subtract
event particular deal swim term opposite wife shoe shoulder spread arrange camp invent cotton born determine
quart nine truck noise level chance gather shop stretch throw shine property column molecule select wrong gray
repeat require broad prepare salt nose plural anger claim continent oxygen sugar death pretty skill women season
solution magnet silver thank branch match suffix especially fig afraid huge sister steel discuss forward similar
guide experience score apple bought led pitch coat mass card band rope slip win dream evening condition feed
tool total basic smell valley nor double seat arrive master track parent shore division sheet substance favor
connect post spend chord fat glad original share station dad bread charge proper bar offer segment slave duck
instant market degree populate chick dear enemy reply drink occur support speech nature range steam motion path
liquid log meant quotient teeth shell neck hello hi thanks okay sorry model data file server user value error
code function return string number true false null request response message token text chat assistant system
tool input output version default option test client local network memory context question answer today
tomorrow yesterday information computer program software internet email phone business service government
market public report research health problem development security process support access account address
content online project management issue level order price product quality rate reason result right role rule
service set share source space specific standard status step story structure study subject success summary
support table task team technology term thing time topic type unit update value view way week work year
`;

// Common word-internal and word-final pieces (without the word-start marker).
const COMMON_SUBWORDS = `
s es ed ing er ers ly tion tions ment ments ness able ible al ial ity ive ous ful less est ic ical ism ist ists
ize ized un re in on at an en or ar le ll ss th he ch sh ck ng nt st ter ted ting ation ations ence ance
ant ent age ure ine ion ions ory ary ery ify ure ward wise 's 't 're 've 'll 'd 'm n't
`;

// Capitalized forms of this many leading words are added (sentence starts, names of things).
const CAPITALIZED_WORD_COUNT = 200;
// Chat openers that tests and demos use a lot, so they tokenize as whole words.
const CAPITALIZED_EXTRA = "Hello Hi Hey Thanks Please Sure Yes No OK Okay Sorry What Why How Who Where When";
// ChatML role names follow <|im_start|> directly: with add_space_prefix llama.cpp
// sees "▁user", without it "user", so both forms are pieces.
const CHAT_ROLES = "user assistant system tool";

const PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const DIGITS = "0123456789";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = LOWER.toUpperCase();
// English letter frequency order, used to make synthetic n-grams roughly plausible.
const LETTERS_BY_FREQUENCY = "etaoinshrdlcumwfgypbvkjxqz";
const MAX_NGRAM = 4;

function wordsOf(list: string): string[] {
    return list.split(/\s+/).filter((w) => w.length > 0);
}

/** Synthetic n-grams by increasing length, within a length by summed letter rank, plain then word-initial. */
function* syntheticPieces(): Generator<string> {
    const letters = [...LETTERS_BY_FREQUENCY];
    for (let n = 2; n <= MAX_NGRAM; n++) {
        const grams: { text: string; rank: number }[] = [];
        const idx = new Array<number>(n).fill(0);
        for (;;) {
            let text = "";
            let rank = 0;
            for (const i of idx) {
                text += letters[i];
                rank += i;
            }
            grams.push({ text, rank });
            let k = n - 1;
            while (k >= 0 && idx[k] === letters.length - 1)
                idx[k--] = 0;
            if (k < 0)
                break;
            idx[k]!++;
        }
        // Array.prototype.sort is stable, so ties keep enumeration order: deterministic everywhere.
        grams.sort((a, b) => a.rank - b.rank);
        for (const g of grams)
            yield g.text;
        for (const g of grams)
            yield SPM_SPACE + g.text;
    }
}

function* naturalPieces(): Generator<string> {
    yield SPM_SPACE;
    for (const c of LOWER + UPPER + DIGITS + PUNCTUATION)
        yield c;
    for (const c of LOWER + UPPER + DIGITS + PUNCTUATION)
        yield SPM_SPACE + c;

    for (const w of wordsOf(CHAT_ROLES)) {
        yield* withPrefixes(w);
        yield* withPrefixes(SPM_SPACE + w);
    }
    for (const w of wordsOf(CAPITALIZED_EXTRA))
        yield* withPrefixes(SPM_SPACE + w);
    const words = [...new Set(wordsOf(COMMON_WORDS))];
    for (let i = 0; i < words.length; i++) {
        yield* withPrefixes(SPM_SPACE + words[i]);
        if (i < CAPITALIZED_WORD_COUNT)
            yield* withPrefixes(SPM_SPACE + words[i]![0]!.toUpperCase() + words[i]!.slice(1));
    }
    for (const w of wordsOf(COMMON_SUBWORDS))
        yield* withPrefixes(w);
    // Runs of spaces (indentation in code).
    for (let n = 2; n <= 8; n++)
        yield SPM_SPACE.repeat(n);
}

/** All prefixes of at least two characters, shortest first, ending with the piece itself. */
function* withPrefixes(piece: string): Generator<string> {
    const chars = [...piece];
    for (let n = 2; n <= chars.length; n++)
        yield chars.slice(0, n).join("");
}

/**
 * Builds a vocabulary of exactly `size` tokens. Deterministic: depends only on
 * `size` (and `controlTokens`), and without control tokens a smaller
 * vocabulary is a prefix of a larger one.
 *
 * `controlTokens` become the last tokens, of type control, in place of the
 * least common pieces: real chat models hold their format's markers (<think>,
 * [TOOL_CALLS], <|python_tag|>) this way, and llama.cpp then tokenizes the
 * marker text as that one token and hides it when detokenizing without
 * special tokens.
 */
export function buildLlamaVocab(size = 4096, controlTokens: readonly string[] = []): LlamaVocab {
    if (!Number.isInteger(size) || size <= RESERVED_TOKEN_COUNT || size > MAX_VOCAB_SIZE)
        throw new RangeError(`vocabulary size must be an integer in ${RESERVED_TOKEN_COUNT + 1}..${MAX_VOCAB_SIZE}, got ${size}`);
    if (size - controlTokens.length <= RESERVED_TOKEN_COUNT)
        throw new RangeError(`a vocabulary of ${size} tokens has no room for ${controlTokens.length} control tokens`);

    const tokens: string[] = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"];
    const types: number[] = [
        LlamaTokenType.unknown,
        LlamaTokenType.control,
        LlamaTokenType.control,
        LlamaTokenType.control,
        LlamaTokenType.control
    ];
    // llama.cpp finds byte tokens by looking up exactly "<0x%02X>".
    for (let b = 0; b < 256; b++) {
        tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
        types.push(LlamaTokenType.byte);
    }

    const seen = new Set(tokens);
    for (const t of controlTokens) {
        if (t.length === 0 || seen.has(t))
            throw new RangeError(`control token ${JSON.stringify(t)} is empty or already in the vocabulary`);
        seen.add(t);
    }
    const normalCount = size - controlTokens.length;
    const sources = [naturalPieces(), syntheticPieces()];
    outer: for (const source of sources) {
        for (const piece of source) {
            if (tokens.length >= normalCount)
                break outer;
            if (seen.has(piece))
                continue;
            seen.add(piece);
            tokens.push(piece);
            types.push(LlamaTokenType.normal);
        }
    }
    if (tokens.length < normalCount)
        throw new Error(`internal error: only ${tokens.length} distinct pieces available for a vocabulary of ${size}`);
    for (const t of controlTokens) {
        tokens.push(t);
        types.push(LlamaTokenType.control);
    }

    // control tokens keep score 0, as the reserved ones: they are matched whole, never merged
    const scores = new Float32Array(size);
    for (let i = RESERVED_TOKEN_COUNT; i < normalCount; i++)
        scores[i] = -(i - RESERVED_TOKEN_COUNT);

    return {
        tokens,
        scores,
        tokenTypes: Int32Array.from(types),
        unkId: UNK_ID,
        bosId: BOS_ID,
        eosId: EOS_ID,
        eotId: IM_END_ID,
        imStartId: IM_START_ID,
        imEndId: IM_END_ID
    };
}

/** The `tokenizer.ggml.*` metadata entries describing `vocab`. */
export function llamaVocabMetadata(vocab: LlamaVocab): [string, GgufValue][] {
    return [
        ["tokenizer.ggml.model", gguf.str("llama")],
        ["tokenizer.ggml.tokens", gguf.strings(vocab.tokens)],
        ["tokenizer.ggml.scores", gguf.f32s(vocab.scores)],
        ["tokenizer.ggml.token_type", gguf.i32s(vocab.tokenTypes)],
        ["tokenizer.ggml.bos_token_id", gguf.u32(vocab.bosId)],
        ["tokenizer.ggml.eos_token_id", gguf.u32(vocab.eosId)],
        ["tokenizer.ggml.eot_token_id", gguf.u32(vocab.eotId)],
        ["tokenizer.ggml.unknown_token_id", gguf.u32(vocab.unkId)],
        ["tokenizer.ggml.padding_token_id", gguf.u32(vocab.unkId)],
        ["tokenizer.ggml.add_bos_token", gguf.bool(true)],
        ["tokenizer.ggml.add_eos_token", gguf.bool(false)]
    ];
}
