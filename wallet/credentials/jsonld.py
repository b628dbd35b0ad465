"""Offline JSON-LD for credentials: pinned contexts, RDFC-1.0 canonical N-Quads and a data-loss check.

An ``eddsa-rdfc-2022`` signature covers the RDF meaning of a credential, not its JSON text, so three
things must hold before a signature means what a reader sees:

1. Every ``@context`` comes from a copy bundled in ``contexts/`` (see its README for URL, source and
   sha256). Nothing is fetched: fetching would tell a context host who checks which credential, and
   whoever controls that host could change what an already signed credential means.
2. Expansion drops nothing the issuer wrote. A property that no context defines vanishes from the
   canonical form, so it would be shown to the learner yet not be covered by the signature. This is the
   "safe mode" of VC Data Integrity (a ``PROOF_TRANSFORMATION_ERROR``); here it is :class:`DataLossError`.
3. The N-Quads are byte-for-byte those of other implementations. pyld 3.3 escapes string literals the
   N-Quads 1.1 way; RDFC-1.0 serialises in the canonical form of RDF 1.2 N-Quads, where ``\\b``, ``\\t``,
   ``\\n``, ``\\f``, ``\\r``, ``\\"`` and ``\\\\`` are ECHARs and every other character in U+0000-U+001F
   and U+007F is a ``\\uXXXX`` UCHAR with upper-case hex (the same table as digitalbazaar/rdf-canonize and
   the rdf-canon crate). Blank-node hashing uses the same serialisation, so this module runs pyld's
   URDNA2015 (= RDFC-1.0 with SHA-256) with its own serialiser.

Canonicalisation also has a work budget: RDFC-1.0 asks implementations to guard against "poison"
datasets whose blank nodes need factorial work, and a wallet canonicalises credentials from strangers.
"""

from __future__ import annotations

import copy
import json
import math
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver
from pyld.jsonld import JsonLdError, JsonLdProcessor

CONTEXTS_DIR = Path(__file__).parent / "contexts"

OB_V3P0_CONTEXT_3_0_3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CLR_V2P0_CONTEXT_2_0_1 = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"

BUNDLED_CONTEXTS: Mapping[str, str] = MappingProxyType(
    {
        "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
        "https://www.w3.org/2018/credentials/v1": "credentials-v1.jsonld",
        "https://www.w3.org/ns/credentials/examples/v2": "credentials-examples-v2.jsonld",
        OB_V3P0_CONTEXT_3_0_3: "ob-v3p0-context-3.0.3.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json": "ob-v3p0-context-3.0.2.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json": "ob-v3p0-context-3.0.1.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context.json": "ob-v3p0-context.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json": "ob-v3p0-extensions.json",
        "https://w3id.org/security/data-integrity/v2": "data-integrity-v2.jsonld",
        "https://w3id.org/security/data-integrity/v1": "data-integrity-v1.jsonld",
        "https://w3id.org/security/multikey/v1": "multikey-v1.jsonld",
        "https://w3id.org/security/jwk/v1": "jwk-v1.jsonld",
        "https://w3id.org/security/suites/ed25519-2020/v1": "ed25519-2020-v1.jsonld",
        "https://www.w3.org/ns/credentials/status/v1": "bitstring-status-list-v1.jsonld",
        "https://w3id.org/vc/status-list/2021/v1": "status-list-2021-v1.jsonld",
        "https://www.w3.org/ns/did/v1": "did-v1.jsonld",
        "https://w3id.org/openbadges/v2": "openbadges-v2-context.json",
        "https://openbadgespec.org/v2/context.json": "openbadges-v2-context.json",
        CLR_V2P0_CONTEXT_2_0_1: "clr-v2p0-context-2.0.1.json",
        "https://purl.imsglobal.org/spec/clr/v2p0/context.json": "clr-v2p0-context.json",
    }
)

SIGNING_UNSAFE_TERMS = frozenset({"awardedDate", "inLanguage", "jti", "endorsementJwt"})
"""Terms that the three circulating copies of OB ``context-3.0.3.json`` do not define alike.

The 1EdTech spec repository added ``inLanguage`` and ``awardedDate`` to the published file in 2024, the
1EdTech validator's copy later added ``jti`` and ``endorsementJwt``, and the DCC npm copy (used by many
JavaScript verifiers) has none of them. A credential using any of them canonicalises differently under
another copy, so its ``eddsa-rdfc-2022`` signature fails for some verifiers.
"""

_MAX_CANONICALISATION_WORK = 20_000


class UnknownContextError(Exception):
    """A document names a context that is not bundled; it is refused rather than fetched."""

    def __init__(self, url: str) -> None:
        super().__init__(f"unknown context {url}")
        self.url = url


class DataLossError(Exception):
    """Expansion would silently drop part of the document, so a signature would not cover it.

    ``terms`` names what would be lost: undefined property terms, undefined ``type`` values, and
    relative ``id`` values (which have no RDF subject).
    """

    def __init__(self, terms: list[str], relative_ids: list[str] | None = None) -> None:
        relative_ids = relative_ids or []
        parts = []
        if terms:
            parts.append("undefined term " + ", ".join(terms))
        if relative_ids:
            parts.append("relative id " + ", ".join(relative_ids))
        super().__init__("; ".join(parts))
        self.terms: tuple[str, ...] = tuple(terms) + tuple(relative_ids)


class InvalidJsonLdError(ValueError):
    """The document is not valid JSON-LD (for example it redefines a protected term)."""


class CanonicalisationLimitError(Exception):
    """The dataset needs more blank-node work than any credential should (a "poison" dataset)."""


class NonPortableTermError(ValueError):
    """A document to be signed uses a term that the circulating OB 3.0.3 context copies disagree on."""

    def __init__(self, terms: list[str]) -> None:
        super().__init__("not portable under every copy of the OB 3.0.3 context, leave out: " + ", ".join(terms))
        self.terms = tuple(terms)


class _LockedLru:
    """The two methods pyld's ContextResolver uses, made safe for threads sharing one cache."""

    def __init__(self, maxsize: int) -> None:
        self._cache: OrderedDict[Any, Any] = OrderedDict()
        self._maxsize = maxsize
        self._lock = threading.Lock()

    def get(self, key: Any, default: Any = None) -> Any:
        with self._lock:
            if key not in self._cache:
                return default
            self._cache.move_to_end(key)
            return self._cache[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        with self._lock:
            self._cache[key] = value
            self._cache.move_to_end(key)
            while len(self._cache) > self._maxsize:
                self._cache.popitem(last=False)


class ContextLoader:
    """A pyld document loader serving a fixed map of URL -> bundled file and refusing every other URL.

    Each file is parsed once, and the loader carries its own cache of processed contexts (pyld's
    ``ContextResolver`` cache), which is what makes repeated canonicalisation fast. The cache belongs to
    the loader rather than to pyld's module-global one, so a loader with other copies of a context (the
    tests use one) can never see this loader's processed contexts or the reverse.
    """

    def __init__(self, files: Mapping[str, Path], *, remember_processed: bool = True) -> None:
        self._files = dict(files)
        self._documents: dict[str, Any] = {}
        self.resolved_contexts = _LockedLru(maxsize=256)
        self.processed_contexts = _LockedLru(maxsize=512) if remember_processed else None
        """Processed contexts by active context and content (see :class:`_Expander`); None leaves only
        pyld's own caching (``bench/credentials.py`` times both)."""

    @property
    def urls(self) -> frozenset[str]:
        return frozenset(self._files)

    def __call__(self, url: str, options: object = None) -> dict[str, Any]:
        path = self._files.get(url)
        if path is None:
            raise UnknownContextError(url)
        document = self._documents.get(url)
        if document is None:
            document = json.loads(path.read_text(encoding="utf-8"))
            self._documents[url] = document
        return {
            "contextUrl": None,
            "documentUrl": url,
            "document": copy.deepcopy(document),
            "contentType": "application/ld+json",
            "tag": "static",
        }


document_loader = ContextLoader({url: CONTEXTS_DIR / name for url, name in BUNDLED_CONTEXTS.items()})


def _context_key(local_ctx: Any) -> str:
    """What a local context says, as a string: the same text for the same context, cheap to compute."""
    if isinstance(local_ctx, str):
        return local_ctx
    return json.dumps(local_ctx, sort_keys=True, ensure_ascii=False, default=dict)


class _Expander(JsonLdProcessor):
    """pyld's processor, recording what expansion drops, keeping the expanded form, and remembering
    processed contexts.

    pyld caches a processed context under the ``_uuid`` of the active context it was processed in, but
    it processes a type-scoped context (OB 3.0 has one for nearly every type) in a fresh clone of the
    active context, whose new ``_uuid`` never hits: every credential re-processed them all (~60% of a
    warm canonicalisation). Processing is a pure function of the active context, the local context
    and the flags, so :meth:`_process_context` remembers its result under those (the active context by
    its ``_uuid``, which a remembered result keeps, the local context by its text), in the loader's
    ``processed_contexts``. Returned contexts are shared, as pyld's own cache shares them; pyld never
    changes an active context once processed (it clones first).
    """

    def __init__(self, processed: _LockedLru | None = None) -> None:
        super().__init__(on_property_dropped=self._record_drop)
        self.dropped: list[str] = []
        self.expanded: Any = None
        self._last_term: str | None = None
        self._processed = processed

    def _process_context(
        self,
        active_ctx: Any,
        local_ctx: Any,
        options: Any,
        override_protected: bool = False,
        propagate: bool = True,
        validate_scoped: bool = True,
        cycles: Any = None,
    ) -> Any:
        if self._processed is None or cycles or ("_uuid" not in active_ctx and not isinstance(active_ctx, dict)):
            return super()._process_context(
                active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
            )
        if "_uuid" not in active_ctx:
            active_ctx["_uuid"] = uuid.uuid4().hex
        memo_key = (active_ctx["_uuid"], _context_key(local_ctx), override_protected, propagate, validate_scoped)
        processed = self._processed.get(memo_key)
        if processed is None:
            processed = super()._process_context(
                active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
            )
            self._processed[memo_key] = processed
        return processed

    def _record_drop(self, expanded_property: str | None) -> None:
        term = expanded_property if expanded_property is not None else self._last_term
        if term is not None and term not in self.dropped:
            self.dropped.append(term)

    def _expand_iri(
        self,
        active_ctx: dict[str, Any],
        value: Any,
        base: Any = None,
        vocab: bool = False,
        local_ctx: Any = None,
        defined: Any = None,
    ) -> Any:
        # A term mapped to null expands to None; remember the key so the error can name it.
        if vocab:
            self._last_term = value
        return super()._expand_iri(active_ctx, value, base, vocab, local_ctx, defined)

    def expand(self, input_: Any, options: Any) -> Any:
        self.expanded = super().expand(input_, options)
        return self.expanded


def _is_absolute_iri(value: str) -> bool:
    return _ABSOLUTE_IRI.match(value) is not None


_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+\-.]*|_):[^\s]*$")


def _relative_references(expanded: Any) -> tuple[list[str], list[str]]:
    """Relative ``@type`` values and ``@id`` values in expanded JSON-LD: to_rdf drops them silently."""
    types: list[str] = []
    ids: list[str] = []
    stack = [expanded]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        if "@value" in node:
            datatype = node.get("@type")
            if isinstance(datatype, str) and datatype != "@json" and not _is_absolute_iri(datatype):
                types.append(datatype)
            continue
        node_id = node.get("@id")
        if isinstance(node_id, str) and not _is_absolute_iri(node_id):
            ids.append(node_id)
        for type_value in node.get("@type", ()):
            if isinstance(type_value, str) and not _is_absolute_iri(type_value):
                types.append(type_value)
        stack.extend(value for key, value in node.items() if key not in ("@id", "@type"))
    return types, ids


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        nested = getattr(current, "cause", None)
        current = current.__cause__ or (nested if isinstance(nested, BaseException) else None)


def to_dataset(document: Mapping[str, Any], *, loader: ContextLoader = document_loader) -> dict[str, Any]:
    """The RDF dataset (pyld's form) of ``document``, refusing unknown contexts and dropped data."""
    if not isinstance(document, Mapping):
        raise TypeError("a JSON-LD document must be a JSON object")
    expander = _Expander(loader.processed_contexts)
    options = {
        "documentLoader": loader,
        "contextResolver": ContextResolver(loader.resolved_contexts, loader),
        "processingMode": "json-ld-1.1",
        # No document base: pyld would otherwise resolve a relative id or type against
        # http://example.org/base/, inventing data instead of reporting it as lost.
        "base": None,
    }
    try:
        dataset = expander.to_rdf(dict(document), options)
    except JsonLdError as error:
        causes = list(_causes(error))
        for cause in causes:
            if isinstance(cause, UnknownContextError):
                raise cause from None
        innermost = [cause for cause in causes if isinstance(cause, JsonLdError)][-1]
        message = innermost.args[0] if innermost.args else "invalid JSON-LD"
        raise InvalidJsonLdError(f"invalid JSON-LD: {message}") from error
    relative_types, relative_ids = _relative_references(expander.expanded)
    dropped = expander.dropped + [t for t in relative_types if t not in expander.dropped]
    if dropped or relative_ids:
        raise DataLossError(dropped, relative_ids)
    return dataset


_LITERAL_SPECIAL = re.compile(r'[\x00-\x1f\x7f"\\]')
_IRI_SPECIAL = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_ECHAR = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def _uchar(match: re.Match[str]) -> str:
    return f"\\u{ord(match[0]):04X}"


def _echar_or_uchar(match: re.Match[str]) -> str:
    return _ECHAR.get(match[0]) or f"\\u{ord(match[0]):04X}"


def escape_literal(value: str) -> str:
    """A string literal's lexical form as canonical N-Quads writes it (between the quotes)."""
    return _LITERAL_SPECIAL.sub(_echar_or_uchar, value)


def _term(term: Mapping[str, str]) -> str:
    if term["type"] == "IRI":
        return "<" + _IRI_SPECIAL.sub(_uchar, term["value"]) + ">"
    return term["value"]


def serialize_quad(quad: Mapping[str, Mapping[str, str]]) -> str:
    """One quad in canonical N-Quads form, newline included."""
    obj = quad["object"]
    if obj["type"] == "literal":
        text = '"' + escape_literal(obj["value"]) + '"'
        datatype = obj.get("datatype")
        if datatype == _RDF_LANGSTRING:
            if obj.get("language"):
                text += "@" + obj["language"]
        elif datatype and datatype != _XSD_STRING:
            text += "^^<" + _IRI_SPECIAL.sub(_uchar, datatype) + ">"
    else:
        text = _term(obj)
    line = _term(quad["subject"]) + " " + _term(quad["predicate"]) + " " + text
    name = quad.get("name")
    if name is not None and name.get("value") is not None:
        line += " " + _term(name)
    return line + " .\n"


class _Rdfc10(URDNA2015):
    """pyld's URDNA2015 with canonical-form serialisation and a work budget."""

    def __init__(self) -> None:
        super().__init__()
        self._work = 0

    def hash_first_degree_quads(self, id_: str) -> str:
        info = self.blank_node_info[id_]
        if "hash" in info:
            return info["hash"]
        nquads = []
        for quad in info["quads"]:
            relabelled = {}
            for key, component in quad.items():
                if key != "predicate" and component["type"] == "blank node":
                    label = "_:a" if component["value"] == id_ else "_:z"
                    component = {"type": "blank node", "value": label}
                relabelled[key] = component
            nquads.append(serialize_quad(relabelled))
        nquads.sort()
        info["hash"] = self.hash_nquads(nquads)
        return info["hash"]

    def create_hash_to_related(self, id_: str, issuer: Any) -> dict[str, list[str]]:
        related = super().create_hash_to_related(id_, issuer)
        # Hash N-Degree Quads tries every permutation of each list; count that before it starts.
        self._work += 1 + sum(math.factorial(min(len(nodes), 20)) for nodes in related.values())
        if self._work > _MAX_CANONICALISATION_WORK:
            raise CanonicalisationLimitError("blank nodes too ambiguous to canonicalise")
        return related

    def canonical_nquads(self, dataset: dict[str, Any]) -> str:
        self.main(dataset, {"format": "application/n-quads"})
        return "".join(sorted(serialize_quad(quad) for quad in self.quads))


def canonize(document: Mapping[str, Any], *, loader: ContextLoader = document_loader) -> str:
    """RDFC-1.0 canonical N-Quads of ``document``.

    Raises :class:`UnknownContextError` for a context that is not bundled, :class:`DataLossError` when
    expansion would drop a term, :class:`InvalidJsonLdError` for JSON-LD that is invalid in other ways
    and :class:`CanonicalisationLimitError` for a poison dataset.
    """
    return _Rdfc10().canonical_nquads(to_dataset(document, loader=loader))


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, child in value.items():
            if key == "@context":
                continue
            yield key
            yield from _keys(child)
    elif isinstance(value, list):
        for child in value:
            yield from _keys(child)


def assert_portable(document: Mapping[str, Any]) -> None:
    """Refuse to sign a document that uses a term in :data:`SIGNING_UNSAFE_TERMS`.

    The check looks at every key at every depth, whichever contexts the document names: the terms are
    only risky under OB 3.0.3, but a badge that avoids them is portable everywhere, and a term hidden
    under a context that does not define it would be caught as data loss anyway.
    """
    found = sorted({key for key in _keys(document) if key in SIGNING_UNSAFE_TERMS})
    if found:
        raise NonPortableTermError(found)
