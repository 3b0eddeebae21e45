import pytest
import torch

from survey_models import data, train
from survey_models.autoencoders import Autoencoder, reconstruction_loss, structure_of


def test_structures_are_named_as_in_the_survey():
    assert structure_of(64, 16) == "压缩结构"
    assert structure_of(64, 256) == "稀疏结构"
    assert structure_of(64, 64) == "等维结构"
    assert Autoencoder(64, 16).structure == "压缩结构"


def test_shapes():
    model = Autoencoder(64, 16)
    x = torch.rand(5, 64)
    assert model.encode(x).shape == (5, 16)
    assert model(x).shape == (5, 64)


def test_equations_1_and_2_against_a_hand_computation():
    model = Autoencoder(3, 2, encoder_activation="sigmoid", decoder_activation="sigmoid")
    w1 = torch.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])
    b1 = torch.tensor([0.1, -0.2])
    w2 = torch.tensor([[1.0, -1.0], [0.5, 0.5], [-2.0, 1.0]])
    b2 = torch.tensor([0.0, 0.3, -0.1])
    with torch.no_grad():
        model.encoder_linear.weight.copy_(w1)
        model.encoder_linear.bias.copy_(b1)
        model.decoder_linear.weight.copy_(w2)
        model.decoder_linear.bias.copy_(b2)
    x = torch.tensor([[1.0, 2.0, 3.0]])
    # by hand: W1 x + b1 = [0.5 - 2 + 6 + 0.1, 1 - 1.5 - 0.2] = [4.6, -0.7]
    h = 1 / (1 + torch.exp(-torch.tensor([[4.6, -0.7]])))
    y = 1 / (1 + torch.exp(-(h @ w2.T + b2)))
    assert torch.allclose(model.encode(x), h, atol=1e-6)
    assert torch.allclose(model(x), y, atol=1e-6)
    # the loss is the squared error summed over features, averaged over the batch
    assert torch.allclose(reconstruction_loss(model, x), ((y - x) ** 2).sum(), atol=1e-5)


def test_training_lowers_the_reconstruction_error_on_digits():
    split = data.digits_split(0.3, seed=0)
    train.set_seed(0)
    model = Autoencoder(64, 16)
    before = train.evaluate(model, reconstruction_loss, split.x_test)
    history = train.fit(model, reconstruction_loss, split.x_train, epochs=30, lr=3e-3)
    after = train.evaluate(model, reconstruction_loss, split.x_test)
    assert history.train_loss[-1] < history.train_loss[0]
    # an untrained AE outputs ~0.5 everywhere (error ≈ 9 per image); trained: below 2.5
    assert before > 7.0 and after < 2.5 and after < 0.3 * before


def test_denoising_target_is_used():
    model = Autoencoder(4, 2)
    x, target = torch.rand(3, 4), torch.rand(3, 4)
    with torch.no_grad():
        expected = ((model(x) - target) ** 2).sum(1).mean()
    assert torch.allclose(reconstruction_loss(model, x, target), expected)
    with pytest.raises(ValueError, match="target"):
        reconstruction_loss(model, x, torch.rand(3, 5))


@pytest.mark.parametrize(
    "args, name",
    [
        ((0, 4), "n_input"),
        ((4, -1), "n_hidden"),
    ],
)
def test_bad_sizes_raise(args, name):
    with pytest.raises(ValueError, match=name):
        Autoencoder(*args)


def test_bad_activation_and_input_raise():
    with pytest.raises(ValueError, match="encoder_activation"):
        Autoencoder(4, 2, encoder_activation="softsign")
    with pytest.raises(TypeError, match="n_hidden"):
        Autoencoder(4, 2.5)
    model = Autoencoder(64, 16)
    with pytest.raises(ValueError, match="x must have last dimension 64"):
        model(torch.rand(3, 63))
    with pytest.raises(ValueError, match="x must have 2 dimensions"):
        model(torch.rand(64))
    with pytest.raises(TypeError, match="floating"):
        model(torch.ones(2, 64, dtype=torch.long))


# --- tests that catch a wrong model (issue 12 §5) ----------------------------------------

ACTIVATION_FUNCTIONS = {
    "sigmoid": (torch.nn.Sigmoid, torch.sigmoid),
    "tanh": (torch.nn.Tanh, torch.tanh),
    "relu": (torch.nn.ReLU, torch.relu),
    "identity": (torch.nn.Identity, lambda a: a),
}


@pytest.mark.parametrize("name", list(ACTIVATION_FUNCTIONS))
def test_each_activation_name_maps_to_exactly_its_torch_function(name):
    from survey_models.autoencoders import make_activation
    from survey_models.autoencoders.core import ACTIVATIONS

    assert set(ACTIVATIONS) == set(ACTIVATION_FUNCTIONS)
    cls, fn = ACTIVATION_FUNCTIONS[name]
    assert type(make_activation(name)) is cls
    assert make_activation(name) is not make_activation(name)  # a fresh module each time
    a = torch.linspace(-3, 3, 13)[None]
    torch.testing.assert_close(make_activation(name)(a), fn(a))


@pytest.mark.parametrize("encoder", list(ACTIVATION_FUNCTIONS))
@pytest.mark.parametrize("decoder", ["sigmoid", "identity", "relu"])
def test_encoder_and_decoder_apply_their_own_activation(encoder, decoder):
    torch.manual_seed(0)
    model = Autoencoder(5, 3, encoder_activation=encoder, decoder_activation=decoder)
    x = torch.randn(4, 5)
    a = x @ model.encoder_linear.weight.T + model.encoder_linear.bias
    h = ACTIVATION_FUNCTIONS[encoder][1](a)
    y = ACTIVATION_FUNCTIONS[decoder][1](
        h @ model.decoder_linear.weight.T + model.decoder_linear.bias
    )
    torch.testing.assert_close(model.encode(x), h)
    torch.testing.assert_close(model.decode(h), y)
    torch.testing.assert_close(model(x), y)
    assert model.encoder_linear.weight.shape == (3, 5)
    assert model.decoder_linear.weight.shape == (5, 3)


@pytest.mark.parametrize("name", list(ACTIVATION_FUNCTIONS))
def test_activation_derivative_matches_autograd(name):
    from survey_models.autoencoders import activation_derivative, make_activation

    act = make_activation(name)
    a = torch.linspace(-2.95, 3.05, 25, dtype=torch.float64, requires_grad=True)  # no 0
    h = act(a)
    (slope,) = torch.autograd.grad(h.sum(), a)
    torch.testing.assert_close(activation_derivative(act, h.detach()), slope)
    with pytest.raises(TypeError, match="activation"):
        activation_derivative(torch.nn.Softplus(), h.detach())


def test_reconstruction_errors_are_per_example_squared_distances():
    from survey_models.autoencoders import reconstruction_errors

    model = Autoencoder(3, 2, decoder_activation="identity")
    with torch.no_grad():
        model.decoder_linear.weight.zero_()
        model.decoder_linear.bias.copy_(torch.tensor([1.0, -2.0, 0.5]))  # y is constant
    x = torch.tensor([[1.0, 0.0, 0.5], [0.0, 0.0, 0.0]])
    errors = reconstruction_errors(model, x)
    torch.testing.assert_close(errors, torch.tensor([4.0, 5.25]))
    torch.testing.assert_close(reconstruction_loss(model, x), torch.tensor(4.625))
    target = torch.tensor([[1.0, -2.0, 0.5], [1.0, -1.0, 0.5]])
    torch.testing.assert_close(reconstruction_errors(model, x, target), torch.tensor([0.0, 1.0]))


def test_structure_and_decode_checks_name_the_argument():
    from survey_models.autoencoders.core import check_autoencoder

    with pytest.raises(ValueError, match="n_input"):
        structure_of(0, 4)
    with pytest.raises(ValueError, match="n_hidden"):
        structure_of(4, 0)
    model = Autoencoder(6, 3)
    assert check_autoencoder(model) is model
    with pytest.raises(TypeError, match="net must be an Autoencoder"):
        check_autoencoder(torch.nn.Linear(6, 3), "net")
    with pytest.raises(ValueError, match="h must have last dimension 3"):
        model.decode(torch.rand(2, 4))
    with pytest.raises(ValueError, match="h must have 2 dimensions"):
        model.decode(torch.rand(3))
    with pytest.raises(TypeError, match="h must be a floating"):
        model.decode(torch.ones(2, 3, dtype=torch.long))
