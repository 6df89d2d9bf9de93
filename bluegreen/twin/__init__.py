"""The local twin: moto in server mode made to fail where AWS fails, deployed from template.yaml."""

from bluegreen.twin import stock_images

stock_images.use()  # before anything imports moto.ec2
