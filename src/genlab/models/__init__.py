"""Pure ``nn.Module`` networks: constructor arguments are architecture knobs only."""

from genlab.models.dcgan import DCGANDiscriminator, DCGANGenerator

__all__ = ["DCGANDiscriminator", "DCGANGenerator"]
