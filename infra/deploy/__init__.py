"""Deploy, roll back and verify the stack on AWS (CloudFormation package and deploy, in Python)."""
