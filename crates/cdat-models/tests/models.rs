//! Forward shapes on tiny configs, parameter counts of the default configs, and the registry.

mod common;

use burn::module::Module;
use burn::tensor::{backend::Backend, Distribution, Int, Tensor};
use cdat_models::registry::{ModelConfigError, MODEL_NAMES};
use cdat_models::{
    Activation, AnyModel, CharTransformerConfig, Classifier, DataSpec, MixerConfig, MlpConfig,
    ModelConfig, ModelKind, ModelTask, Normalization, ResNetConfig, VitConfig, VitPooling,
};
use common::{AD, B};

fn images<Bk: Backend>(n: usize, c: usize, hw: usize) -> Tensor<Bk, 4> {
    Tensor::random(
        [n, c, hw, hw],
        Distribution::Uniform(0.0, 1.0),
        &Default::default(),
    )
}

fn assert_finite<Bk: Backend, const D: usize>(t: Tensor<Bk, D>) {
    let v: Vec<f32> = t.into_data().convert::<f32>().to_vec().unwrap();
    assert!(v.iter().all(|x| x.is_finite()), "non-finite output");
}

fn image_shapes<Bk: Backend>() {
    let dev = Default::default();
    for act in [Activation::Relu, Activation::Tanh, Activation::Gelu] {
        let mlp = MlpConfig::new()
            .with_d_input(64) // 1 x 8 x 8
            .with_hidden(vec![16, 12])
            .with_num_classes(5)
            .with_activation(act)
            .init::<Bk>(&dev);
        let y = mlp.logits(images(3, 1, 8));
        assert_eq!(y.dims(), [3, 5]);
        assert_finite(y);
        // Flattens any [N, ...] input.
        assert_eq!(
            mlp.forward(Tensor::<Bk, 2>::zeros([2, 64], &dev)).dims(),
            [2, 5]
        );
    }
    let linear = MlpConfig::new()
        .with_d_input(12)
        .with_hidden(vec![])
        .init::<Bk>(&dev);
    assert_eq!(
        linear
            .forward(Tensor::<Bk, 3>::zeros([2, 3, 4], &dev))
            .dims(),
        [2, 10]
    );

    for norm in [
        Normalization::None,
        Normalization::LayerNorm,
        Normalization::BatchNorm,
    ] {
        let resnet = ResNetConfig::new()
            .with_blocks_per_stage(vec![1, 1])
            .with_base_width(4)
            .with_num_classes(7)
            .with_normalization(norm)
            .init::<Bk>(&dev);
        let y = resnet.logits(images(2, 3, 8));
        assert_eq!(y.dims(), [2, 7], "{norm:?}");
        assert_finite(y);
    }

    let mixer = MixerConfig::new()
        .with_image_size(8)
        .with_patch_size(4)
        .with_hidden_dim(8)
        .with_tokens_mlp_dim(6)
        .with_channels_mlp_dim(10)
        .with_depth(2)
        .with_num_classes(4)
        .init::<Bk>(&dev);
    let y = mixer.logits(images(2, 3, 8));
    assert_eq!(y.dims(), [2, 4]);
    assert_finite(y);

    for pooling in [VitPooling::ClassToken, VitPooling::Mean] {
        let vit = VitConfig::new()
            .with_in_channels(1)
            .with_image_size(8)
            .with_patch_size(2)
            .with_embed_dim(8)
            .with_depth(2)
            .with_num_heads(2)
            .with_mlp_dim(12)
            .with_num_classes(3)
            .with_pooling(pooling)
            .init::<Bk>(&dev);
        let y = vit.logits(images(2, 1, 8));
        assert_eq!(y.dims(), [2, 3], "{pooling:?}");
        assert_finite(y);
    }
}

fn char_transformer_shapes<Bk: Backend>() {
    let dev = Default::default();
    let model = CharTransformerConfig::new()
        .with_vocab_size(11)
        .with_n_layers(2)
        .with_d_model(8)
        .with_n_heads(2)
        .with_block_size(6)
        .init::<Bk>(&dev);
    let tokens = Tensor::<Bk, 2, Int>::random([3, 6], Distribution::Uniform(0.0, 11.0), &dev);
    let y = model.forward(tokens.clone());
    assert_eq!(y.dims(), [3, 6, 11]);
    assert_finite(y);
    // Shorter sequences than block_size are allowed.
    assert_eq!(model.forward(tokens.slice([0..3, 0..4])).dims(), [3, 4, 11]);
}

#[test]
fn image_model_shapes_ndarray() {
    image_shapes::<B>();
}

#[test]
fn image_model_shapes_autodiff() {
    image_shapes::<AD>();
}

#[test]
fn char_transformer_shapes_ndarray() {
    char_transformer_shapes::<B>();
}

#[test]
fn char_transformer_shapes_autodiff() {
    char_transformer_shapes::<AD>();
}

#[test]
fn char_transformer_is_causal() {
    // Changing a later token must not change the logits at earlier positions.
    let dev = Default::default();
    let model = CharTransformerConfig::new()
        .with_vocab_size(7)
        .with_d_model(8)
        .with_n_heads(2)
        .with_block_size(5)
        .init::<B>(&dev);
    let a = Tensor::<B, 2, Int>::from_ints([[1, 2, 3, 4, 5]], &dev);
    let b = Tensor::<B, 2, Int>::from_ints([[1, 2, 3, 6, 0]], &dev);
    let ya: Vec<f32> = model
        .forward(a)
        .slice([0..1, 0..3, 0..7])
        .into_data()
        .to_vec()
        .unwrap();
    let yb: Vec<f32> = model
        .forward(b)
        .slice([0..1, 0..3, 0..7])
        .into_data()
        .to_vec()
        .unwrap();
    for (x, y) in ya.iter().zip(&yb) {
        assert!((x - y).abs() < 1e-5, "future token leaked into the past");
    }
}

#[test]
#[should_panic(expected = "exceeds block_size")]
fn char_transformer_rejects_long_sequences() {
    let dev = Default::default();
    let model = CharTransformerConfig::new()
        .with_block_size(4)
        .init::<B>(&dev);
    model.forward(Tensor::<B, 2, Int>::zeros([1, 5], &dev));
}

#[test]
fn default_parameter_counts() {
    let dev = Default::default();
    // 3072*128+128 + 128*128+128 + 128*10+10
    assert_eq!(MlpConfig::new().init::<B>(&dev).num_params(), 411_146);
    // base width 8: stem 224 + stage1 1,168 + stage2 3,632 + stage3 14,432 + head 330
    assert_eq!(ResNetConfig::new().init::<B>(&dev).num_params(), 19_786);
    // patch conv 3,136 + 2 blocks * 21,024 + final LN 128 + head 650
    assert_eq!(MixerConfig::new().init::<B>(&dev).num_params(), 45_962);
    // patch conv 3,136 + cls 64 + pos 65*64 + 2 blocks * 33,472 + LN 128 + head 650
    assert_eq!(VitConfig::new().init::<B>(&dev).num_params(), 75_082);
    // tok 65*64 + pos 32*64 + 2 blocks * 49,984 + LN 128 + head 64*65+65
    assert_eq!(
        CharTransformerConfig::new().init::<B>(&dev).num_params(),
        110_529
    );
}

#[test]
fn named_layout_parameter_counts() {
    let dev = Default::default();
    assert_eq!(ResNetConfig::resnet8().depth(), 8);
    assert_eq!(ResNetConfig::resnet20().depth(), 20);
    assert_eq!(ResNetConfig::resnet34().depth(), 34);
    // stem 448 + stage1 4,640 + stage2 14,432 + stage3 57,536 + head 650
    assert_eq!(ResNetConfig::resnet8().init::<B>(&dev).num_params(), 77_706);
    assert_eq!(
        ResNetConfig::resnet20().init::<B>(&dev).num_params(),
        271_690
    );
    // Layer norm: conv biases removed, a (gamma, beta) pair per normalized conv.
    let ln = ResNetConfig::resnet20().with_normalization(Normalization::LayerNorm);
    assert_eq!(ln.init::<B>(&dev).num_params(), 272_474);
    // The paper's NanoLM: 6 layers, 256 dim, 8 heads, block 64, vocab 65.
    assert_eq!(
        CharTransformerConfig::paper().init::<B>(&dev).num_params(),
        4_788_801
    );
}

#[test]
fn resnet34_parameter_count() {
    // Parameters are initialized lazily, so counting does not allocate the 21M weights.
    let dev = Default::default();
    assert_eq!(
        ResNetConfig::resnet34().init::<B>(&dev).num_params(),
        21_273_610
    );
}

#[test]
fn registry_parses_every_name() {
    for (name, kind) in MODEL_NAMES.iter().zip(ModelKind::ALL) {
        assert_eq!(name.parse::<ModelKind>().unwrap(), kind);
        assert_eq!(kind.name(), *name);
        assert_eq!(kind.to_string(), *name);
    }
    assert_eq!(
        "ResNet20".parse::<ModelKind>().unwrap(),
        ModelKind::ResNet20
    );
}

#[test]
fn unknown_model_name_lists_valid_names() {
    let err = "resnet50".parse::<ModelKind>().unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("resnet50"), "{msg}");
    for name in MODEL_NAMES {
        assert!(msg.contains(name), "{msg} does not list {name}");
    }
    let err = ModelConfig::from_name("nope", &DataSpec::cifar10()).unwrap_err();
    assert!(matches!(err, ModelConfigError::Unknown(_)));
    assert!(err.to_string().contains("char-transformer"));
}

#[test]
fn registry_rejects_incompatible_data() {
    assert!(matches!(
        ModelConfig::from_name("char-transformer", &DataSpec::cifar10()),
        Err(ModelConfigError::Incompatible { .. })
    ));
    assert!(matches!(
        ModelConfig::from_name("vit", &DataSpec::tiny_shakespeare()),
        Err(ModelConfigError::Incompatible { .. })
    ));
}

#[test]
fn registry_builds_models_for_data() {
    let dev = Default::default();
    // Every image model on MNIST-shaped input (1x28x28).
    for name in ["mlp", "resnet8", "mixer", "vit"] {
        let config = ModelConfig::from_name(name, &DataSpec::mnist()).unwrap();
        assert_eq!(config.task(), ModelTask::ImageClassification);
        let model: AnyModel<B> = config.init(&dev);
        assert_eq!(model.task(), ModelTask::ImageClassification);
        assert_eq!(model.logits(images(2, 1, 28)).dims(), [2, 10], "{name}");
        assert!(model
            .try_sequence_logits(Tensor::zeros([1, 2], &dev))
            .is_none());
    }
    let config = ModelConfig::from_name("resnet20", &DataSpec::cifar10()).unwrap();
    match &config {
        ModelConfig::ResNet(c) => assert_eq!(c.blocks_per_stage, vec![3, 3, 3]),
        other => panic!("unexpected {other:?}"),
    }
    let config = ModelConfig::from_name("char-transformer", &DataSpec::tiny_shakespeare()).unwrap();
    assert_eq!(config.task(), ModelTask::LanguageModeling);
    let model: AnyModel<B> = config.init(&dev);
    assert_eq!(model.task(), ModelTask::LanguageModeling);
    let logits = model.sequence_logits(Tensor::zeros([2, 8], &dev));
    assert_eq!(logits.dims(), [2, 8, 65]);
    assert!(model.try_image_logits(images(1, 3, 32)).is_none());
    assert_eq!(model.num_params(), 110_529);
}

#[test]
fn model_config_round_trips_through_json() {
    let config = ModelConfig::from_name("vit", &DataSpec::cifar10()).unwrap();
    let json = config.to_string();
    let back = <ModelConfig as burn::config::Config>::load_binary(json.as_bytes()).unwrap();
    assert_eq!(back.to_string(), json);
}

#[test]
fn causal_mask_marks_future_positions() {
    let mask: Vec<bool> = cdat_models::attention::causal_mask::<B>(3, &Default::default())
        .into_data()
        .to_vec()
        .unwrap();
    assert_eq!(
        mask,
        vec![false, true, true, false, false, true, false, false, false]
    );
}

#[test]
fn tap_matmul_convolution_matches_native() {
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::PaddingConfig2d;
    use cdat_models::conv::conv2d_channels_last;
    let dev = Default::default();
    let cases = [
        // (kernel, stride, padding, bias)
        (3, 1, PaddingConfig2d::Explicit(1, 1, 1, 1), true),
        (3, 2, PaddingConfig2d::Explicit(1, 1, 1, 1), false),
        (1, 2, PaddingConfig2d::Valid, true),
        (2, 2, PaddingConfig2d::Valid, true),
        (3, 1, PaddingConfig2d::Explicit(0, 2, 1, 0), true),
        (3, 2, PaddingConfig2d::Same, true),
        (2, 1, PaddingConfig2d::Same, false),
    ];
    for (k, stride, padding, bias) in cases {
        let conv = Conv2dConfig::new([3, 5], [k, k])
            .with_stride([stride, stride])
            .with_padding(padding.clone())
            .with_bias(bias)
            .init::<AD>(&dev);
        let x = images::<AD>(2, 3, 7).require_grad();
        let native = conv.forward(x.clone());
        let taps =
            conv2d_channels_last(&conv, x.clone().permute([0, 2, 3, 1])).permute([0, 3, 1, 2]);
        assert_eq!(native.dims(), taps.dims(), "k={k} s={stride} {padding:?}");
        let a: Vec<f32> = native.clone().into_data().to_vec().unwrap();
        let b: Vec<f32> = taps.clone().into_data().to_vec().unwrap();
        for (u, v) in a.iter().zip(&b) {
            assert!(
                (u - v).abs() < 1e-5,
                "k={k} s={stride} {padding:?}: {u} vs {v}"
            );
        }
        // Same gradients with respect to the input and the weights.
        let ga = (native.clone() * native).sum().backward();
        let gb = (taps.clone() * taps).sum().backward();
        let pairs = [
            (x.grad(&ga).unwrap(), x.grad(&gb).unwrap()),
            (
                conv.weight.val().grad(&ga).unwrap(),
                conv.weight.val().grad(&gb).unwrap(),
            ),
        ];
        for (u, v) in pairs {
            let u: Vec<f32> = u.flatten::<1>(0, 3).into_data().to_vec().unwrap();
            let v: Vec<f32> = v.flatten::<1>(0, 3).into_data().to_vec().unwrap();
            for (p, q) in u.iter().zip(&v) {
                assert!((p - q).abs() < 1e-4, "gradient mismatch {p} vs {q}");
            }
        }
    }
}

#[test]
fn resnet_conv_impls_agree() {
    use cdat_models::ConvImpl;
    let dev = Default::default();
    for norm in [
        Normalization::None,
        Normalization::LayerNorm,
        Normalization::BatchNorm,
    ] {
        let a = ResNetConfig::new()
            .with_base_width(4)
            .with_blocks_per_stage(vec![1, 1])
            .with_normalization(norm)
            .with_conv_impl(ConvImpl::Native)
            .init::<B>(&dev);
        let x = images::<B>(2, 3, 8);
        // Burn parameters are initialized lazily and cloning an uninitialized module
        // re-samples its weights, so run a forward pass before cloning.
        let ya: Vec<f32> = a.forward(x.clone()).into_data().to_vec().unwrap();
        let b = a.clone().with_conv_impl(ConvImpl::TapMatmul);
        assert_eq!(b.blocks[1].conv_impl, ConvImpl::TapMatmul);
        let yb: Vec<f32> = b.forward(x).into_data().to_vec().unwrap();
        for (u, v) in ya.iter().zip(&yb) {
            assert!((u - v).abs() < 1e-5, "{norm:?}: {u} vs {v}");
        }
    }
}

#[test]
fn linear_patch_embedding_equals_strided_conv() {
    use burn::module::Param;
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::Linear;
    use cdat_models::conv::patches;
    let dev = Default::default();
    let (c, p, d) = (3, 4, 5);
    let conv = Conv2dConfig::new([c, d], [p, p])
        .with_stride([p, p])
        .init::<B>(&dev);
    let linear = Linear {
        weight: Param::from_tensor(conv.weight.val().reshape([d, c * p * p]).transpose()),
        bias: conv.bias.as_ref().map(|b| Param::from_tensor(b.val())),
    };
    let x = images::<B>(2, c, 8);
    let [n, _, gh, gw] = [2, d, 2, 2];
    let from_conv: Vec<f32> = conv
        .forward(x.clone())
        .reshape([n, d, gh * gw])
        .swap_dims(1, 2)
        .into_data()
        .to_vec()
        .unwrap();
    let from_linear: Vec<f32> = linear.forward(patches(x, p)).into_data().to_vec().unwrap();
    for (u, v) in from_conv.iter().zip(&from_linear) {
        assert!((u - v).abs() < 1e-5, "{u} vs {v}");
    }
}
