"""Unit cases for the custom NLU components; they need Rasa, so they run in ``.venv-rasa``.

``test_components.py`` runs them there with the standard library's unittest runner.
"""

from __future__ import annotations

import asyncio
import tempfile
import unittest
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from rasa.core.channels.channel import UserMessage
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import LogisticRegression

from hotline.text_encoder import SHARED_VECTOR, rule_fingerprint, shared_vector
from nlu_components.classifiers import CATEGORY, CATEGORY_RANKING, CategoryClassifier
from nlu_components.encoder import (
    DIM,
    ReportVectorSharer,
    SentenceEncoder,
    SentenceEncoderFeaturizer,
    prefetch,
    shared_encoder,
    worth_encoding,
)
from nlu_components.faq import RESPONSE_SELECTOR, FaqRetriever
from nlu_components.linear import (
    LINEAR_DEFAULTS,
    LinearModel,
    SentenceBlocks,
    sentence_blocks,
    sentence_counts,
    sentence_matrix,
    sentence_row,
)
from nlu_components.normaliser import ORIGINAL_TEXT, ChineseNormaliser, normalise
from nlu_components.use_encoder import USE_DIM, UniversalSentenceEncoderFeaturizer
from rasa_runtime.channels import PreEncodingRestInput, pre_encoding


def _storage() -> tuple[LocalModelStorage, Resource]:
    return LocalModelStorage(Path(tempfile.mkdtemp())), Resource("component")


def _with_dense(text: str, vector: np.ndarray, **data: Any) -> Message:
    message = Message(data={TEXT: text, **data})
    message.add_features(Features(vector.reshape(1, -1), "sentence", TEXT, "encoder"))
    return message


class NormaliserCases(unittest.TestCase):
    def test_traditional_becomes_simplified_and_the_original_is_kept(self) -> None:
        message = Message(data={TEXT: "我們樓下的路燈壞了很久"})
        ChineseNormaliser().process([message])
        self.assertEqual(message.get(TEXT), "我们楼下的路灯坏了很久")
        self.assertEqual(message.get(ORIGINAL_TEXT), "我們樓下的路燈壞了很久")
        self.assertIn(ORIGINAL_TEXT, message.as_dict(only_output_properties=True))

    def test_simplified_text_is_left_alone(self) -> None:
        message = Message(data={TEXT: "楼道灯坏了"})
        ChineseNormaliser().process([message])
        self.assertEqual(message.get(TEXT), "楼道灯坏了")
        self.assertIsNone(message.get(ORIGINAL_TEXT))

    def test_an_intent_payload_is_left_for_rasa_to_parse(self) -> None:
        payload = '/inform{"location": "位置：纬度 30.5928，经度 114.3055", "latitude": 30.59}'
        message = Message(data={TEXT: payload})
        ChineseNormaliser().process([message])
        self.assertEqual(message.get(TEXT), payload)

    def test_markup_and_code_fragments_are_dropped_from_a_chinese_message(self) -> None:
        message = Message(data={TEXT: "楼道灯坏了 <script>alert('xss')</script>"})
        ChineseNormaliser().process([message])
        self.assertEqual(message.get(TEXT), "楼道灯坏了")
        self.assertEqual(message.get(ORIGINAL_TEXT), "楼道灯坏了 <script>alert('xss')</script>")

    def test_full_width_letters_and_digits_become_half_width(self) -> None:
        self.assertEqual(normalise("３栋２单元ＡＢ，"), "3栋2单元AB，")


class EncoderCases(unittest.TestCase):
    encoder: SentenceEncoder

    @classmethod
    def setUpClass(cls) -> None:
        cls.encoder = SentenceEncoder(threads=1, cache_size=2)

    def test_short_or_digit_texts_are_not_encoded(self) -> None:
        self.assertFalse(worth_encoding("孙", 3))
        self.assertFalse(worth_encoding("13512345678", 3))
        self.assertTrue(worth_encoding("路灯坏了", 3))
        self.assertFalse(self.encoder.encode_one("13512345678").any())

    def test_an_embedding_is_a_unit_vector_and_cached(self) -> None:
        first = self.encoder.encode_one("小区门口的路灯坏了")
        self.assertEqual(first.shape, (DIM,))
        self.assertAlmostEqual(float(np.linalg.norm(first)), 1.0, places=3)
        self.assertIs(self.encoder.encode_one("小区门口的路灯坏了"), first)

    def test_similar_complaints_are_nearer_than_unrelated_text(self) -> None:
        lamp = self.encoder.encode_one("小区门口的路灯坏了")
        lamp2 = self.encoder.encode_one("楼下路灯晚上不亮")
        song = self.encoder.encode_one("播放一首周杰伦的歌")
        self.assertGreater(float(lamp @ lamp2), float(lamp @ song))

    def test_the_disk_cache_serves_a_second_run(self) -> None:
        path = Path(tempfile.mkdtemp()) / "cache.sqlite3"
        texts = ["关于临河路积水的问题", "孙", "反映东湖小区电梯故障"]
        first = SentenceEncoder(threads=1, disk_cache=path).encode_many(texts)
        second_encoder = SentenceEncoder(threads=1, disk_cache=path)
        second_encoder._model = None  # any call to the model now fails
        second = second_encoder.encode_many(texts)
        np.testing.assert_array_equal(first, second)
        self.assertFalse(second[1].any())


class EncoderPayloadCases(unittest.TestCase):
    def test_a_button_payload_gets_a_zero_vector_and_language_is_encoded(self) -> None:
        config = {**SentenceEncoderFeaturizer.get_default_config(), "disk_cache": ""}
        featurizer = SentenceEncoderFeaturizer(config, "e")
        dense = []
        for text in ('/affirm{"publish": "yes"}', "滨湖花园五栋二单元门口的路灯坏了"):
            message = Message(data={TEXT: text})
            featurizer.process([message])
            _, features = message.get_dense_features(TEXT)
            assert features is not None
            dense.append(np.asarray(features.features).reshape(-1))
        self.assertFalse(dense[0].any())
        self.assertTrue(dense[1].any())


class PrefetchCases(unittest.TestCase):
    def test_a_prefetched_message_is_not_encoded_again_by_the_pipeline(self) -> None:
        config = {**SentenceEncoderFeaturizer.get_default_config(), "disk_cache": ""}
        featurizer = SentenceEncoderFeaturizer(config, "e")
        encoder = shared_encoder(config)
        text = "我們樓下的路燈壞了很久，晚上看不見路"  # traditional: normalised before encoding
        before = encoder.encoded
        asyncio.run(prefetch(text))
        self.assertEqual(encoder.encoded, before + 1)
        message = Message(data={TEXT: text})
        ChineseNormaliser().process([message])
        featurizer.process([message])
        self.assertEqual(encoder.encoded, before + 1)  # the featurizer found it cached
        _, features = message.get_dense_features(TEXT)
        assert features is not None
        self.assertTrue(np.asarray(features.features).any())

    def test_payloads_and_short_answers_are_not_prefetched(self) -> None:
        config = {**SentenceEncoderFeaturizer.get_default_config(), "disk_cache": ""}
        SentenceEncoderFeaturizer(config, "e")
        encoder = shared_encoder(config)
        before = encoder.encoded
        for text in ("/affirm", "孙", "13512345678", "", "幸福小区3栋2单元门口"):
            asyncio.run(prefetch(text))
        self.assertEqual(encoder.encoded, before)

    def test_the_training_cache_key_carries_the_rule_of_what_is_encoded(self) -> None:
        config = SentenceEncoderFeaturizer.get_default_config()
        self.assertEqual(SentenceEncoderFeaturizer.fingerprint_addon(config), rule_fingerprint())

    def test_the_rest_channel_encodes_before_rasa_gets_the_message(self) -> None:
        config = {**SentenceEncoderFeaturizer.get_default_config(), "disk_cache": ""}
        SentenceEncoderFeaturizer(config, "e")
        encoder = shared_encoder(config)
        text = "反映临江小区地下车库积水严重"
        seen: list[tuple[str, bool]] = []

        async def on_new_message(message: UserMessage) -> None:
            seen.append((message.text or "", encoder.is_cached(text)))

        asyncio.run(pre_encoding(on_new_message)(UserMessage(text)))
        self.assertEqual(seen, [(text, True)])
        self.assertEqual(PreEncodingRestInput.name(), "rest")


class ReportVectorCases(unittest.TestCase):
    def _parsed(self, text: str, intent: str) -> Message:
        config = {**SentenceEncoderFeaturizer.get_default_config(), "disk_cache": ""}
        featurizer = SentenceEncoderFeaturizer(config, "e")
        message = Message(data={TEXT: text, INTENT: {"name": intent, "confidence": 0.9}})
        featurizer.process([message])
        sharer = ReportVectorSharer.create({}, *_storage(), None)  # type: ignore[arg-type]
        sharer.process([message])
        return message

    def test_a_report_carries_the_vector_the_featurizer_made(self) -> None:
        text = "反映桂园路北段路灯不亮已经一周"
        message = self._parsed(text, "report")
        vector = shared_vector(message.get(SHARED_VECTOR))
        assert vector is not None
        encoder = shared_encoder(
            {**SentenceEncoderFeaturizer.get_default_config(), "disk_cache": ""}
        )
        np.testing.assert_array_equal(vector, encoder.encode_one(text))
        self.assertIn(SHARED_VECTOR, message.as_dict(only_output_properties=True))

    def test_other_intents_and_cut_texts_carry_none(self) -> None:
        self.assertIsNone(
            self._parsed("你是机器人吗，还是人工客服", "bot_challenge").get(SHARED_VECTOR)
        )
        long_text = "小区北门外的路灯坏了" * 20  # cut to max_chars before encoding
        self.assertIsNone(self._parsed(long_text, "report").get(SHARED_VECTOR))


class LinearCases(unittest.TestCase):
    def test_features_are_normalised_and_weighted(self) -> None:
        message = Message(data={TEXT: "x"})
        message.add_features(
            Features(sp.coo_matrix(np.array([[3.0, 4.0]])), "sentence", TEXT, "counts")
        )
        message.add_features(Features(np.array([[0.6, 0.8]]), "sentence", TEXT, "encoder"))
        row = sentence_matrix([message], sparse_weight=2.0, dense_weight=0.5).toarray()[0]
        sparse = np.log1p(np.array([3.0, 4.0]))
        np.testing.assert_allclose(row[:2], 2.0 * sparse / np.linalg.norm(sparse))
        np.testing.assert_allclose(row[2:], [0.3, 0.4])

    def test_a_message_row_is_built_once_and_stays_out_of_the_parse(self) -> None:
        message = Message(data={TEXT: "x"})
        message.add_features(Features(np.array([[0.6, 0.8]]), "sentence", TEXT, "encoder"))
        first = sentence_matrix([message], 1.0, 1.0).toarray()
        message.features.clear()  # a second build would now give an empty row
        np.testing.assert_allclose(sentence_matrix([message], 1.0, 1.0).toarray(), first)
        self.assertEqual(sentence_matrix([message], 1.0, 2.0).shape, (1, 0))
        self.assertFalse(
            any("linear_row" in k for k in message.as_dict(only_output_properties=True))
        )

    def test_a_training_row_is_not_kept_on_the_message(self) -> None:
        message = Message(data={TEXT: "x"})
        message.add_features(Features(np.array([[0.6, 0.8]]), "sentence", TEXT, "encoder"))
        blocks = sentence_blocks([message], 1.0, 1.0, keep=False)
        np.testing.assert_allclose(blocks.dense, [[0.6, 0.8]])
        self.assertFalse(any("linear_row" in key for key in message.data))

    def test_the_fit_is_scikit_learns_regression(self) -> None:
        rng = np.random.default_rng(11)
        sparse = sp.random(90, 30, density=0.1, format="csr", random_state=3)
        dense = rng.normal(size=(90, 6))
        labels = [str(n) for n in rng.integers(0, 4, size=90)]
        config = {**LINEAR_DEFAULTS, "C": 2.0}
        ours = LinearModel.fit(SentenceBlocks(sparse, dense), labels, config)
        theirs = LogisticRegression(C=2.0, max_iter=400, class_weight="balanced").fit(
            sp.hstack([sparse, sp.csr_matrix(dense)]).tocsr(), labels
        )
        self.assertEqual(ours.classes, [str(c) for c in theirs.classes_])
        np.testing.assert_allclose(ours.coef, theirs.coef_, atol=1e-3)
        np.testing.assert_allclose(ours.intercept, theirs.intercept_, atol=1e-3)

    def test_fit_predict_save_load(self) -> None:
        x = sp.csr_matrix(np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.5, 0.5], [0, 0]]))
        labels = ["a", "a", "b", "b", "c", "c"]
        model = LinearModel.fit(SentenceBlocks(x, np.zeros((6, 0))), labels, LINEAR_DEFAULTS)
        probabilities = model.probabilities(x)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
        self.assertEqual(model.probabilities(x[:1])[0].argmax(), 0)
        storage, resource = _storage()
        model.save(storage, resource)
        loaded = LinearModel.load(storage, resource)
        assert loaded is not None
        np.testing.assert_allclose(loaded.probabilities(x), probabilities)

    def test_a_message_is_scored_as_its_matrix_row_is(self) -> None:
        rng = np.random.default_rng(5)
        messages = []
        for n in range(6):
            message = Message(data={TEXT: f"m{n}"})
            columns = rng.integers(0, 40, size=12)  # repeated columns: counts to be summed
            counts = sp.coo_matrix(
                (rng.integers(1, 4, size=12).astype(np.float32), (np.zeros(12), columns)),
                shape=(1, 40),
            )
            message.add_features(Features(counts, "sentence", TEXT, "counts"))
            if n != 2:  # a message without its dense part gets zeros there
                vector = rng.normal(size=(1, 8))
                message.add_features(Features(vector, "sentence", TEXT, "encoder"))
            messages.append(message)
        x = sentence_matrix(messages, 0.7, 1.3)
        model = LinearModel(rng.normal(size=(3, 48)), rng.normal(size=3), ["a", "b", "c"])
        rows = [sentence_row(m, 0.7, 1.3) for m in messages]
        np.testing.assert_allclose(model.row_probabilities(rows), model.probabilities(x))
        ranking = model.rankings(rows[:1], 2)[0]
        self.assertEqual(len(ranking), 2)
        self.assertEqual(
            ranking[0]["name"], model.classes[int(np.argmax(model.probabilities(x)[0]))]
        )

    def test_sentence_counts_are_rasas_combined_sentence_features(self) -> None:
        rng = np.random.default_rng(7)
        message = Message(data={TEXT: "路灯坏了"})
        for origin, width in (("regex", 5), ("words", 30), ("chars", 70)):
            columns = rng.integers(0, width, size=9)  # repeated columns: counts to be summed
            counts = sp.coo_matrix(
                (rng.integers(1, 4, size=9).astype(np.float32), (np.zeros(9), columns)),
                shape=(1, width),
            )
            tokens = sp.coo_matrix(rng.integers(0, 2, size=(4, width)).astype(np.float32))
            message.add_features(Features(tokens, "sequence", TEXT, origin))
            message.add_features(Features(counts, "sentence", TEXT, origin))
        message.add_features(Features(rng.normal(size=(1, 8)), "sentence", TEXT, "encoder"))
        _, rasas = message.get_sparse_features(TEXT)
        assert rasas is not None
        ours = sentence_counts(message)
        assert ours is not None
        self.assertEqual(ours.shape, rasas.features.shape)
        np.testing.assert_array_equal(ours.toarray(), rasas.features.toarray())
        self.assertIsNone(sentence_counts(Message(data={TEXT: "你好"})))

    def test_an_untrained_model_loads_as_none(self) -> None:
        storage, resource = _storage()
        self.assertIsNone(LinearModel.load(storage, resource))


class CategoryCases(unittest.TestCase):
    def test_labels_come_from_block_metadata_and_faq_topics(self) -> None:
        storage, resource = _storage()
        classifier = CategoryClassifier(CategoryClassifier.get_default_config(), storage, resource)
        report = Message.build(
            "路灯坏了", "report", intent_metadata={"category": "city_management"}
        )
        faq = Message.build("高龄津贴怎么领", "faq/gaoling_jintie")
        greet = Message.build("你好", "greet")
        self.assertEqual(classifier.label(report), "city_management")
        self.assertEqual(classifier.label(faq), "elderly_care")
        self.assertIsNone(classifier.label(greet))

    def test_every_message_gets_a_category_and_a_ranking(self) -> None:
        storage, resource = _storage()
        classifier = CategoryClassifier(CategoryClassifier.get_default_config(), storage, resource)
        lamp, lift = np.array([1.0, 0.0]), np.array([0.0, 1.0])
        training = [
            _with_dense(
                "a", lamp, intent="report", metadata={"intent": {CATEGORY: "city_management"}}
            ),
            _with_dense(
                "b", lamp, intent="report", metadata={"intent": {CATEGORY: "city_management"}}
            ),
            _with_dense(
                "c", lift, intent="report", metadata={"intent": {CATEGORY: "property_housing"}}
            ),
            _with_dense(
                "d", lift, intent="report", metadata={"intent": {CATEGORY: "property_housing"}}
            ),
        ]
        from rasa.shared.nlu.training_data.training_data import TrainingData

        classifier.train(TrainingData(training))
        message = _with_dense("e", np.array([0.1, 0.9]))
        classifier.process([message])
        self.assertEqual(message.get(CATEGORY)["name"], "property_housing")
        self.assertEqual(
            [r["name"] for r in message.get(CATEGORY_RANKING)][:2],
            ["property_housing", "city_management"],
        )


class FaqCases(unittest.TestCase):
    def _retriever(self) -> FaqRetriever:
        storage, resource = _storage()
        vectors = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
        return FaqRetriever(
            FaqRetriever.get_default_config(), storage, resource, vectors, ["faq/a", "faq/b"]
        )

    def test_a_near_question_gets_its_topic_where_rasa_reads_it(self) -> None:
        message = _with_dense(
            "q", np.array([0.99, 0.05]), intent={"name": "faq", "confidence": 0.9}
        )
        self._retriever().process([message])
        chosen = message.get(RESPONSE_SELECTOR)["faq"]["response"]
        self.assertEqual(chosen["intent_response_key"], "faq/a")
        self.assertEqual(chosen["utter_action"], "utter_faq/a")

    def test_a_far_question_is_a_consultation_when_the_category_is_clear(self) -> None:
        message = _with_dense(
            "q",
            np.array([0.7, 0.7]),
            intent={"name": "faq", "confidence": 0.9},
            category={"name": "social_security", "confidence": 0.8},
        )
        self._retriever().process([message])
        self.assertIsNone(message.get(RESPONSE_SELECTOR))
        self.assertEqual(message.get("intent")["name"], "report")

    def test_a_far_question_without_a_clear_category_is_not_understood(self) -> None:
        message = _with_dense(
            "q",
            np.array([0.7, 0.7]),
            intent={"name": "faq", "confidence": 0.9},
            category={"name": "other", "confidence": 0.2},
        )
        self._retriever().process([message])
        self.assertEqual(message.get("intent")["name"], "nlu_fallback")

    def test_a_complaint_is_left_a_report_even_near_a_topic(self) -> None:
        message = _with_dense(
            "高龄津贴一直没到账", np.array([1.0, 0.0]), intent={"name": "report", "confidence": 0.9}
        )
        self._retriever().process([message])
        self.assertIsNone(message.get(RESPONSE_SELECTOR))
        self.assertEqual(message.get("intent")["name"], "report")

    def test_a_report_worded_as_a_question_near_a_topic_is_answered(self) -> None:
        message = _with_dense(
            "咨询高龄津贴申领事宜",
            np.array([1.0, 0.0]),
            intent={"name": "report", "confidence": 0.9},
        )
        self._retriever().process([message])
        self.assertEqual(message.get("intent")["name"], "faq")
        key = message.get(RESPONSE_SELECTOR)["faq"]["response"]["intent_response_key"]
        self.assertEqual(key, "faq/a")

    def test_a_question_far_from_every_topic_stays_a_report(self) -> None:
        message = _with_dense(
            "咨询公积金提取事宜", np.array([0.7, 0.7]), intent={"name": "report", "confidence": 0.9}
        )
        self._retriever().process([message])
        self.assertEqual(message.get("intent")["name"], "report")

    def test_a_topic_of_another_category_than_a_sure_category_stage_is_not_answered(
        self,
    ) -> None:
        storage, resource = _storage()
        vectors = np.array([[1.0, 0.0], [0.96, 0.28]], dtype=np.float32)
        categories = {"faq/a": "social_security", "faq/b": "employment"}
        retriever = FaqRetriever(
            FaqRetriever.get_default_config(),
            storage,
            resource,
            vectors,
            ["faq/a", "faq/b"],
            categories,
        )

        def ask(category: str, confidence: float) -> Message:
            message = _with_dense(
                "q",
                np.array([1.0, 0.0]),
                intent={"name": "faq", "confidence": 0.9},
                category={"name": category, "confidence": confidence},
            )
            retriever.process([message])
            return message

        def answered(message: Message) -> str | None:
            chosen = message.get(RESPONSE_SELECTOR)
            return chosen["faq"]["response"]["intent_response_key"] if chosen else None

        self.assertEqual(answered(ask("social_security", 0.95)), "faq/a")
        self.assertEqual(answered(ask("employment", 0.5)), "faq/a")
        # Sure of employment: the nearest topic (social security) is passed over for the next
        # one above the threshold whose category agrees.
        self.assertEqual(answered(ask("employment", 0.95)), "faq/b")
        # Sure of a category no near topic has: a consultation case instead of an answer.
        unanswered = ask("legal_aid", 0.95)
        self.assertIsNone(answered(unanswered))
        self.assertEqual(unanswered.get("intent")["name"], "report")

    def test_topic_categories_are_stored_with_the_index(self) -> None:
        storage, resource = _storage()
        config = FaqRetriever.get_default_config()
        retriever = FaqRetriever(config, storage, resource)
        from rasa.shared.nlu.training_data.training_data import TrainingData

        retriever.train(
            TrainingData(
                [
                    _with_dense(
                        "高龄津贴怎么领",
                        np.array([1.0, 0.0]),
                        intent="faq",
                        intent_response_key="faq/gaoling_jintie",
                    )
                ]
            )
        )
        loaded = FaqRetriever.load(config, storage, resource, None)  # type: ignore[arg-type]
        self.assertEqual(loaded.keys, ["faq/gaoling_jintie"])
        self.assertEqual(loaded.categories, {"faq/gaoling_jintie": "elderly_care"})

    def test_other_intents_are_left_alone(self) -> None:
        message = _with_dense(
            "请问吗", np.array([1.0, 0.0]), intent={"name": "greet", "confidence": 0.9}
        )
        self._retriever().process([message])
        self.assertIsNone(message.get(RESPONSE_SELECTOR))
        self.assertEqual(message.get("intent")["name"], "greet")

    def test_only_the_named_featurizers_vectors_are_compared(self) -> None:
        storage, resource = _storage()
        retriever = FaqRetriever(
            {**FaqRetriever.get_default_config(), "featurizers": ["e5"]},
            storage,
            resource,
            np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32),
            ["faq/a", "faq/b"],
        )
        message = Message(data={TEXT: "q", INTENT: {"name": "faq", "confidence": 0.9}})
        message.add_features(Features(np.array([[0.0, 1.0]]), "sentence", TEXT, "e5"))
        message.add_features(Features(np.array([[1.0, 0.0, 0.0]]), "sentence", TEXT, "other"))
        retriever.process([message])
        key = message.get(RESPONSE_SELECTOR)["faq"]["response"]["intent_response_key"]
        self.assertEqual(key, "faq/b")


class UniversalSentenceEncoderCases(unittest.TestCase):
    featurizer: UniversalSentenceEncoderFeaturizer

    @classmethod
    def setUpClass(cls) -> None:
        config = UniversalSentenceEncoderFeaturizer.get_default_config()
        cls.featurizer = UniversalSentenceEncoderFeaturizer(config, "use")

    def _vector(self, text: str) -> np.ndarray:
        message = Message(data={TEXT: text})
        self.featurizer.process([message])
        _, dense = message.get_dense_features(TEXT)
        assert dense is not None
        return np.asarray(dense.features).reshape(-1)

    def test_a_sentence_gets_a_unit_vector_and_a_payload_or_a_surname_zeros(self) -> None:
        vector = self._vector("小区门口的路灯坏了好几天了")
        self.assertEqual(vector.shape, (USE_DIM,))
        self.assertAlmostEqual(float(np.linalg.norm(vector)), 1.0, places=3)
        self.assertFalse(self._vector("/affirm").any())
        self.assertFalse(self._vector("孙").any())

    def test_training_examples_get_the_same_vectors_as_live_messages(self) -> None:
        texts = ["小区门口的路灯坏了好几天了", "孙", "欠薪三个月了"]
        messages = [Message(data={TEXT: t}) for t in texts]
        self.featurizer.process_training_data(TrainingData(messages))
        for text, message in zip(texts, messages, strict=True):
            _, dense = message.get_dense_features(TEXT)
            assert dense is not None
            np.testing.assert_allclose(
                np.asarray(dense.features).reshape(-1), self._vector(text), atol=1e-5
            )


if __name__ == "__main__":
    unittest.main()
